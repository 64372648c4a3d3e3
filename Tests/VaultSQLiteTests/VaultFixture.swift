import Foundation
import Logging
import Synchronization
import Testing

@testable import VaultCore
@testable import VaultSQLite

/// A clock the test moves by hand (token expiry, audit times). Starts at a fixed, recent instant.
final class TestClock: Sendable {
    private let seconds: Mutex<Int64>
    init(_ start: Int64 = 1_800_000_000) { seconds = Mutex(start) }
    var now: Int64 { seconds.withLock { $0 } }
    func advance(by delta: Int64) { seconds.withLock { $0 += delta } }
    var vaultClock: VaultClock { VaultClock { [self] in self.now } }
}

/// A whole vault on a real SQLite store in a temporary folder: keyring in `folder/keys`, database in
/// `folder/data`. `reopen()` closes the store and opens the same files again (after a test tampered with
/// them); `close()` ends it. The folder is removed by `withVault`.
final class TestVault: @unchecked Sendable {
    // @unchecked: `store` and `vault` change only in `reopen()`, which tests call between operations, never
    // concurrently with them.
    let folder: String
    let databasePath: String
    let keyring: Keyring
    let clock: TestClock
    let policies: PolicyHolder
    private(set) var store: SQLiteStore
    private(set) var vault: Vault
    private var closed = false

    init(folder: String, policy: Policy, clock: TestClock) throws {
        self.folder = folder
        self.clock = clock
        let keys = folder + "/keys"
        let data = folder + "/data"
        for dir in [keys, data] {
            try FileManager.default.createDirectory(
                atPath: dir,
                withIntermediateDirectories: false,
                attributes: [.posixPermissions: 0o700]
            )
        }
        databasePath = data + "/vault.db"
        keyring = try Keyring.create(
            at: keys + "/cvault.keyring",
            credential: .passphrase(Self.passphrase()),
            kdf: .fastForTests,
            now: Date(timeIntervalSince1970: TimeInterval(clock.now))
        )
        policies = PolicyHolder(path: "", initial: policy, logger: Logger(label: "cvault.test.policy"))
        store = try SQLiteStore.create(at: databasePath)
        vault = Vault(keyring: keyring, store: store, policies: policies, clock: clock.vaultClock)
    }

    /// A test passphrase (never a real one); its bytes go straight into guarded memory.
    static func passphrase() -> SecureBytes {
        var bytes = Array("test-only passphrase, not a secret".utf8)
        return SecureBytes(consuming: &bytes)
    }

    func caller(_ uid: UInt32) throws -> Caller { try vault.caller(uid: uid) }

    /// `vault.tokenize` of `values` for `subject`, as `caller`, with no limits and the default scope.
    func tokenize(_ kind: Kind, _ values: [String], subject: Subject, as caller: Caller) async throws -> [String] {
        try await vault.tokenize(TokenizeRequest(kind: kind, subject: subject, values: values), caller: caller)
    }

    /// Another vault over the same keyring and store, deciding by `policy` (a second policy holder).
    func vault(deciding policy: Policy) -> Vault {
        Vault(
            keyring: keyring,
            store: store,
            policies: PolicyHolder(path: "", initial: policy, logger: Logger(label: "cvault.test.policy")),
            clock: clock.vaultClock
        )
    }

    /// Closes the store (the WAL is checkpointed and removed), runs `between` on the closed files, then opens
    /// them again with the same keyring and policy.
    func reopen(_ between: () throws -> Void = {}) async throws {
        await store.close()
        try between()
        store = try SQLiteStore.open(at: databasePath)
        vault = Vault(keyring: keyring, store: store, policies: policies, clock: clock.vaultClock)
    }

    func close() async {
        guard !closed else { return }
        closed = true
        await store.close()
    }

    func stats() async throws -> Counts {
        let stats = try await vault.stats()
        return Counts(subjects: stats.subjects, tokens: stats.tokens)
    }

    func auditRows() async throws -> [AuditRow] {
        try await store.read { try $0.auditRows(from: 1, limit: 100_000) }
    }

    /// The row key of `token` in the `tokens` table, for tests that tamper with rows.
    func lookup(_ token: String) -> [UInt8] { Binding.lookup(token: token, key: keyring.lookupKey) }

    /// The rows `token` names, found as detokenize finds them (by the id it carries, or by lookup).
    func rows(_ token: String) async throws -> [StoredToken] {
        let address = DetokenizeCall.Address(token: token, keyring: keyring)
        return try await store.read { try DetokenizeCall.rows(at: address, reader: $0) }
    }

    /// Runs SQL on the (closed) database with the sqlite3 command-line shell, as an attacker with file
    /// access would. Returns what it printed; throws if it fails.
    @discardableResult
    func sqlite(_ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = ["-bail", databasePath, sql]
        let errors = Pipe()
        let output = Pipe()
        process.standardError = errors
        process.standardOutput = output
        try process.run()
        // Outputs are a few lines, far below a pipe's buffer, so reading after the exit cannot block it.
        process.waitUntilExit()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw VaultError(.internal, "sqlite3 failed (\(process.terminationStatus)): \(message)")
        }
        return printed.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// How many subjects and token rows the store holds.
struct Counts: Equatable, CustomStringConvertible {
    var subjects: Int
    var tokens: Int
    var description: String { "\(subjects) subjects, \(tokens) tokens" }
}

/// Runs `body` on a fresh vault deciding by `policyYAML`, then closes it and removes its folder.
func withVault<T>(
    _ policyYAML: String,
    clock: TestClock = TestClock(),
    _ body: (TestVault) async throws -> T
) async throws -> T {
    let policy = try Policy.parse(yaml: policyYAML)
    return try await withTemporaryFolder { folder in
        let vault = try TestVault(folder: folder, policy: policy, clock: clock)
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

// MARK: - Values

/// One sample value per kind: what a service sends, the normalized form the vault keeps and reveals, and
/// its mask. Written out by hand, not computed by the code under test.
struct Sample: Sendable, CustomStringConvertible {
    let kind: Kind
    let raw: String
    let normalized: String
    let masked: String
    /// Says which sample, never the value (failure messages must not print values).
    var description: String { "\(kind.rawValue) sample" }

    static let all: [Sample] = [
        Sample(
            kind: .email,
            raw: "  Zephyrine.Q+vault@Example-Mail.ORG ",
            normalized: "Zephyrine.Q+vault@example-mail.org",
            masked: "Z***@example-mail.org"
        ),
        Sample(kind: .phone, raw: "+44 (20) 7946-0958", normalized: "+442079460958", masked: "+********0958"),
        Sample(kind: .card, raw: "4242 4242 4242 4242", normalized: "4242424242424242", masked: "************4242"),
        Sample(kind: .ssn, raw: "219099999", normalized: "219-09-9999", masked: "***-**-9999"),
        Sample(kind: .name, raw: " Zephyrine \t  Quarterfield ", normalized: "Zephyrine Quarterfield", masked: "Z. Q."),
        Sample(
            kind: .address,
            raw: "42  Wallaby Way \r\n\n  Sydney NSW 2000",
            normalized: "42 Wallaby Way\nSydney NSW 2000",
            masked: "[redacted]"
        ),
        Sample(kind: .date, raw: " 1987-03-14 ", normalized: "1987-03-14", masked: "1987"),
        Sample(
            kind: .text,
            raw: "the quick zebra's secret note #9931",
            normalized: "the quick zebra's secret note #9931",
            masked: "[redacted]"
        ),
    ]

    static func of(_ kind: Kind) -> Sample { all.first { $0.kind == kind }! }
}

/// A Luhn-valid card number of `length` digits starting with `prefix` (the check digit computed here, not
/// by the code under test).
func luhnCard(prefix: String, length: Int = 16) -> String {
    var digits = Array(prefix.utf8).map { Int($0 - 48) }
    while digits.count < length - 1 { digits.append(digits.count % 10) }
    var sum = 0
    for (offset, digit) in digits.reversed().enumerated() {
        // The check digit goes at the end, so the digit just before it is doubled.
        if offset % 2 == 0 {
            let d = digit * 2
            sum += d > 9 ? d - 9 : d
        } else {
            sum += digit
        }
    }
    digits.append((10 - sum % 10) % 10)
    return String(digits.map { Character(String($0)) })
}

func isLuhnValid(_ digits: String) -> Bool {
    var sum = 0
    for (offset, byte) in digits.utf8.reversed().enumerated() {
        let digit = Int(byte) - 48
        if offset % 2 == 1 {
            let d = digit * 2
            sum += d > 9 ? d - 9 : d
        } else {
            sum += digit
        }
    }
    return sum % 10 == 0
}

// MARK: - Policies

let allKindNames = Kind.allCases.map(\.rawValue).joined(separator: ", ")

/// One identity (uid 2001, `svc`) that may tokenize every kind, see every kind plain for `view` and masked
/// for `glance`, and erase; `reader` (uid 2002) may only detokenize plain for `view`; `nobody` (uid 2003)
/// has no role. `kinds` sets token modes; `limits` (indented four spaces) is added to `service`.
func serviceYAML(kinds: [Kind: TokenMode] = [:], limits: String = "") -> String {
    let kindLines =
        kinds.isEmpty
        ? "kinds: {}"
        : "kinds:\n"
            + kinds.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "  \($0.key.rawValue): \($0.value.rawValue)" }.joined(separator: "\n")
    return """
        \(kindLines)
        identities:
          - name: svc
            uid: 2001
            roles: [service]
          - name: reader
            uid: 2002
            roles: [reader]
          - name: nobody
            uid: 2003
            roles: []
        roles:
          service:
            tokenize: [\(allKindNames)]
            detokenize:
              - kinds: [\(allKindNames)]
                purposes: [view, charge, refund]
                reveal: plain
              - kinds: [\(allKindNames)]
                purposes: [glance]
                reveal: masked
            erase: true
        \(limits)
          reader:
            detokenize:
              - kinds: [\(allKindNames)]
                purposes: [view]
                reveal: plain

        """
}

/// `serviceYAML` with every kind in `mode` where the kind supports it.
func serviceYAML(mode: TokenMode) -> String {
    var kinds: [Kind: TokenMode] = [:]
    for kind in Kind.allCases where kind.supports(mode) { kinds[kind] = mode }
    return serviceYAML(kinds: kinds)
}

enum UID {
    static let service: UInt32 = 2001
    static let reader: UInt32 = 2002
    static let nobody: UInt32 = 2003
}

// MARK: - Expectations that never print a value

/// A detokenize answer as a failure message may show it: the mode or failure, and a value's length only.
func redacted(_ item: RevealItem) -> String {
    switch item {
    case .value(let value, let mode): "value(\(mode.rawValue), \(value.count) characters)"
    case .error(let failure): "error(\(failure.rawValue))"
    }
}

func redacted(_ items: [RevealItem]) -> String { "[" + items.map(redacted).joined(separator: ", ") + "]" }

/// Expects `got == expected` and, on a mismatch, reports both without their values.
func expectItems(
    _ got: [RevealItem],
    _ expected: [RevealItem],
    _ context: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let same = got == expected
    let note = redacted(got) == redacted(expected) ? " (same shape, different value)" : ""
    #expect(
        same,
        "\(context) got \(redacted(got)), expected \(redacted(expected))\(note)",
        sourceLocation: sourceLocation
    )
}

/// The error `body` throws, or nil; expects it to be a `VaultError`.
func vaultError(_ body: () async throws -> Void) async -> VaultError? {
    do {
        try await body()
        return nil
    } catch let error as VaultError {
        return error
    } catch {
        Issue.record("not a VaultError: \(type(of: error))")
        return nil
    }
}

/// Expects `text` not to contain `needle` (see `leaks`). Computed outside `#expect`, so a failure names `what`
/// and never prints either string.
func expectNoLeak(
    _ text: String,
    _ needle: String,
    _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let leaked = leaks(text, needle)
    #expect(!leaked, "\(what())", sourceLocation: sourceLocation)
}

/// Expects `a == b` for values that must not be printed; a failure names `what` only.
func expectSame<T: Equatable>(
    _ a: T,
    _ b: T,
    _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let same = a == b
    #expect(same, "\(what())", sourceLocation: sourceLocation)
}

/// True when `text` contains `needle` or, for needles of 8 or more characters, any 8 consecutive characters
/// of it (so a partial leak is caught too).
func leaks(_ text: String, _ needle: String) -> Bool {
    let characters = Array(needle)
    guard characters.count >= 8 else { return !needle.isEmpty && text.contains(needle) }
    return (0...(characters.count - 8)).contains { start in
        let window = String(characters[start..<(start + 8)])
        return !window.allSatisfy(\.isWhitespace) && text.contains(window)
    }
}
