import Foundation
import Logging

@testable import VaultCore

/// Where a `TestVault` keeps its rows: how to make a store in a vault's data folder and, for a store that
/// keeps files, how to open it again.
public struct TestStoreBackend: Sendable {
    let create: @Sendable (_ dataFolder: String) throws -> any VaultStore
    let open: (@Sendable (_ dataFolder: String) throws -> any VaultStore)?

    public init(
        create: @escaping @Sendable (_ dataFolder: String) throws -> any VaultStore,
        open: (@Sendable (_ dataFolder: String) throws -> any VaultStore)? = nil
    ) {
        self.create = create
        self.open = open
    }

    /// Rows in memory: nothing to reopen.
    public static let inMemory = TestStoreBackend(create: { _ in InMemoryVaultStore() })
}

/// A whole vault for one test: a keyring (fast KDF) in `folder/keys`, a store from `backend` for
/// `folder/data`, a policy and a hand-moved clock. `reopen()` closes the store and opens it again (for stores
/// with files, after a test tampered with them); `close()` ends it. The folder is removed by `withVault`.
public final class TestVault: @unchecked Sendable {
    // @unchecked: `store` and `vault` change only in `reopen()`, which tests call between operations, never
    // concurrently with them.
    public let folder: String
    /// `folder/data`, where a store with files keeps them.
    public let dataFolder: String
    public let keyring: Keyring
    public let clock: TestClock
    public let policies: PolicyHolder
    private let backend: TestStoreBackend
    public private(set) var store: any VaultStore
    public private(set) var vault: Vault
    private var closed = false

    public init(folder: String, policy: Policy, clock: TestClock, backend: TestStoreBackend) throws {
        self.folder = folder
        self.clock = clock
        self.backend = backend
        let keys = folder + "/keys"
        dataFolder = folder + "/data"
        for dir in [keys, dataFolder] {
            try FileManager.default.createDirectory(
                atPath: dir,
                withIntermediateDirectories: false,
                attributes: [.posixPermissions: 0o700]
            )
        }
        keyring = try Keyring.create(
            at: keys + "/cvault.keyring",
            credential: .passphrase(Self.passphrase()),
            kdf: .fastForTests,
            now: Date(timeIntervalSince1970: TimeInterval(clock.now))
        )
        policies = PolicyHolder(path: "", initial: policy, logger: Logger(label: "cvault.test.policy"))
        store = try backend.create(dataFolder)
        vault = Vault(keyring: keyring, store: store, policies: policies, clock: clock.vaultClock)
    }

    /// A test passphrase (never a real one); its bytes go straight into guarded memory.
    public static func passphrase() -> SecureBytes { testPassphrase("test-only passphrase, not a secret") }

    public func caller(_ uid: UInt32) throws -> Caller { try vault.caller(uid: uid) }

    /// `vault.tokenize` of `values` for `subject`, as `caller`, with no limits and the default scope.
    public func tokenize(_ kind: Kind, _ values: [String], subject: Subject, as caller: Caller) async throws -> [String]
    {
        try await vault.tokenize(TokenizeRequest(kind: kind, subject: subject, values: values), caller: caller)
    }

    /// Another vault over the same keyring and store, deciding by `policy` (a second policy holder).
    public func vault(deciding policy: Policy) -> Vault {
        Vault(
            keyring: keyring,
            store: store,
            policies: PolicyHolder(path: "", initial: policy, logger: Logger(label: "cvault.test.policy")),
            clock: clock.vaultClock
        )
    }

    /// Closes the store, runs `between` on what it left (its closed files), then opens it again with the same
    /// keyring and policy. Only for a backend that can open a store again.
    public func reopen(_ between: () throws -> Void = {}) async throws {
        guard let open = backend.open else { throw VaultError(.internal, "this test store cannot be reopened") }
        await store.close()
        try between()
        store = try open(dataFolder)
        vault = Vault(keyring: keyring, store: store, policies: policies, clock: clock.vaultClock)
    }

    public func close() async {
        guard !closed else { return }
        closed = true
        await store.close()
    }

    public func stats() async throws -> Counts {
        let stats = try await vault.stats()
        return Counts(subjects: stats.subjects, tokens: stats.tokens)
    }

    public func auditRows() async throws -> [AuditRow] {
        try await store.read { try $0.auditRows(from: 1, limit: 100_000) }
    }

    /// The row key of `token` in the store, for tests that tamper with rows.
    public func lookup(_ token: String) -> [UInt8] { Binding.lookup(token: token, key: keyring.lookupKey) }

    /// The rows `token` names, found as detokenize finds them (by the id it carries, or by lookup).
    public func rows(_ token: String) async throws -> [StoredToken] {
        let address = DetokenizeCall.Address(token: token, keyring: keyring)
        return try await store.read { reader in
            let carried = try reader.tokens(ids: address.carriedID.map { [$0] } ?? [])
            return try DetokenizeCall.rows(at: address, carried: carried, reader: reader)
        }
    }
}

/// How many subjects and token rows the store holds.
public struct Counts: Equatable, CustomStringConvertible {
    public var subjects: Int
    public var tokens: Int
    public init(subjects: Int, tokens: Int) { (self.subjects, self.tokens) = (subjects, tokens) }
    public var description: String { "\(subjects) subjects, \(tokens) tokens" }
}

/// Runs `body` on a fresh vault on `backend` deciding by `policyYAML`, then closes it and removes its folder.
/// The domain's tests run on the in-memory store; VaultSQLiteTests passes `.sqlite` where the files matter.
public func withVault<T>(
    _ policyYAML: String,
    clock: TestClock = TestClock(),
    on backend: TestStoreBackend = .inMemory,
    _ body: (TestVault) async throws -> T
) async throws -> T {
    let policy = try Policy.parse(yaml: policyYAML)
    return try await withTemporaryFolder { folder in
        let vault = try TestVault(folder: folder, policy: policy, clock: clock, backend: backend)
        do {
            let result = try await body(vault)
            await vault.close()
            return result
        } catch {
            await vault.close()
            throw error
        }
    }
}
