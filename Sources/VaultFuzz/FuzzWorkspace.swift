import Foundation
import Logging
import Synchronization
import VaultCore
import VaultSQLite
import VaultServer

#if canImport(Glibc)
import Glibc
#endif

/// A private temporary folder for one fuzzing process: on /dev/shm when there is one (a memory file
/// system, so the store's fsyncs cost nothing and a campaign runs many more inputs), removed at exit.
enum FuzzFolder {
    static let path: String = {
        let base =
            ProcessInfo.processInfo.environment["CVAULT_FUZZ_TMP"]
            ?? (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory())
        var template = Array((base + "/cvault-fuzz.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("fuzz harness: cannot create a folder in \(base)") }
        let path = String(cString: made)
        atexit { try? FileManager.default.removeItem(atPath: FuzzFolder.path) }
        return path
    }()
}

/// One keyring for the harnesses that need keys (token decoding), made once per process.
enum FuzzKeys {
    static let keyring: Keyring = {
        do {
            return try FuzzEntryPoints.makeKeyring(at: FuzzFolder.path + "/harness.keyring")
        } catch {
            fatalError("fuzz harness: cannot create its keyring: \(error)")
        }
    }()
}

/// A real vault for the request harness: the harness keyring, a SQLite store in the fuzz folder, and a
/// policy that knows two uids (so requests reach the methods) and not a third (so the unknown-identity path
/// is fuzzed too). A few tokens are issued at start; `@T0@`…`@T7@` in an input stand for them, so
/// detokenize can find rows and reveal, which no guessed token would.
final class FuzzWorkspace: Sendable {
    /// alice: every method, plain reveals. bob: masked reveals, small limits, no erase.
    static let alice: UInt32 = 1001, bob: UInt32 = 1002, stranger: UInt32 = 4242
    /// Line `n` of an input is sent as `uids[n % 3]`.
    static let uids: [UInt32] = [alice, stranger, bob]

    static let policyYAML = """
        kinds:
          email: deterministic
          card: format-preserving
          ssn: format-preserving
          phone: format-preserving
        identities:
          - name: alice
            uid: 1001
            roles: [admin]
          - name: bob
            uid: 1002
            roles: [support]
        roles:
          admin:
            tokenize: [email, phone, card, ssn, name, address, date, text]
            detokenize:
              - kinds: [email, phone, card, ssn, name, address, date, text]
                purposes: [demo, billing, marketing]
                reveal: plain
            erase: true
            consent: true
            restrict: true
          support:
            tokenize: [email, name]
            detokenize:
              - kinds: [email, phone, card, ssn, name, address, date, text]
                purposes: [support]
                reveal: masked
            limits: { max_batch: 50, reveals_per_minute: 100000 }
        consent_required: [marketing]
        """

    /// Values tokenized at start, one per kind, for subject `seed`.
    static let seedValues: [(Kind, String)] = [
        (.email, "ada@example.com"), (.phone, "+442079460958"), (.card, "4111111111111111"), (.ssn, "219-09-9999"),
        (.name, "Ada Lovelace"), (.address, "12 St James's Square\nLondon"), (.date, "1815-12-10"),
        (.text, "note \u{1}\"\\"),
    ]

    let dispatcher: DispatcherEntryPoint
    let tokens: [String]
    private let store: SQLiteStore

    private init(dispatcher: DispatcherEntryPoint, tokens: [String], store: SQLiteStore) {
        self.dispatcher = dispatcher
        self.tokens = tokens
        self.store = store
    }

    private static let made = Mutex<FuzzWorkspace?>(nil)

    /// The process's workspace, made on first use (inputs run one at a time, in the fuzzer and in replay).
    static func shared() async -> FuzzWorkspace {
        if let workspace = made.withLock({ $0 }) { return workspace }
        let workspace = await make()
        made.withLock { $0 = workspace }
        return workspace
    }

    private static func make() async -> FuzzWorkspace {
        do {
            let policy = try Policy.parse(yaml: policyYAML)
            let store = try SQLiteStore.create(at: FuzzFolder.path + "/vault.db")
            let quiet = Logger(label: "cvault.fuzz") { _ in SwiftLogNoOpLogHandler() }
            let vault = Vault(
                keyring: FuzzKeys.keyring,
                store: store,
                policies: PolicyHolder(path: "", initial: policy, logger: quiet),
                logger: quiet
            )
            let caller = try vault.caller(uid: alice)
            var tokens: [String] = []
            for (kind, value) in seedValues {
                tokens += try await vault.tokenize(
                    TokenizeRequest(kind: kind, subject: "seed", values: [value]),
                    caller: caller
                )
            }
            return FuzzWorkspace(
                dispatcher: DispatcherEntryPoint(vault: vault, logger: quiet),
                tokens: tokens,
                store: store
            )
        } catch {
            fatalError("fuzz harness: cannot set up its vault: \(error)")
        }
    }
}
