import Foundation
import Testing
import VaultTestSupport

/// One vault in its own temporary folder: `Keys/` and `data/` as `cvault init` makes them, a random
/// passphrase, and a policy file granting this process's uid (root when the tests run) everything the
/// tests need. Runs `cvault` with CVAULT_KEYS, CVAULT_DATA, CVAULT_PASSPHRASE and CVAULT_POLICY set, and in
/// the PostgreSQL pass of the server behaviour suites (`TestServers`) CVAULT_STORE, naming a fresh database.
struct VaultFixture: Sendable {
    let root: String
    /// Random per vault: a test can check it never appears in any output.
    let passphrase: String
    /// The vault's PostgreSQL database in the PostgreSQL pass; nil on SQLite (the files under `data`).
    var postgres: PostgresTestDatabase? = nil

    var keys: String { root + "/Keys" }
    var data: String { root + "/data" }
    var keyring: String { keys + "/cvault.keyring" }
    /// The SQLite database file (on SQLite).
    var database: String { data + "/cvault.db" }
    var policy: String { root + "/policy.yaml" }

    var environment: [String: String] { environment(process: 0) }

    /// What server process `index` gets (`TestServers.environment`); 0 is the vault's own folders.
    func environment(process index: Int) -> [String: String] {
        TestServers.environment(
            ["CVAULT_KEYS": keys, "CVAULT_DATA": data, "CVAULT_PASSPHRASE": passphrase, "CVAULT_POLICY": policy],
            database: postgres,
            process: index,
            folder: root
        )
    }

    /// Runs `sql` on the vault's store, as an operator with the database would (sqlite3 on the file, or psql
    /// on the PostgreSQL database), waiting out a running server's write; the output, one row per line.
    @discardableResult
    func query(_ sql: String) throws -> String {
        if let postgres { return try postgres.run(sql) }
        return try sqlite3(database, sql, busyTimeoutMilliseconds: 10_000)
    }

    /// Runs `cvault arguments`. `environment` entries override the vault's; a nil value removes one.
    func cvault(
        _ arguments: String...,
        stdin: String? = nil,
        environment changes: [String: String?] = [:],
        directory: String? = nil
    ) async throws -> CVaultRun {
        try await cvault(arguments, stdin: stdin, environment: changes, directory: directory)
    }

    func cvault(
        _ arguments: [String],
        stdin: String? = nil,
        environment changes: [String: String?] = [:],
        directory: String? = nil
    ) async throws -> CVaultRun {
        var env = environment
        for (name, value) in changes { env[name] = value }
        return try await CVaultProcess.run(arguments, environment: env, stdin: stdin, directory: directory ?? root)
    }

    /// Runs `cvault init` and fails the test unless it succeeded.
    func initialize() async throws {
        let run = try await cvault("init")
        try #require(run.status == 0, "cvault init failed: \(run.stderr)")
    }

    /// `cvault tokenize --kind KIND --subject SUBJECT VALUES…`, requiring success and one token per value.
    func tokenize(_ kind: String, subject: String, _ values: [String]) async throws -> [String] {
        let run = try await cvault(["tokenize", "--kind", kind, "--subject", subject] + values)
        try #require(run.status == 0, "tokenize \(kind) failed: \(run.stderr)")
        try #require(
            run.lines.count == values.count,
            "tokenize printed \(run.lines.count) lines for \(values.count) values"
        )
        return run.lines
    }

    /// The `subjects` and `tokens` counts of `cvault status`.
    func counts() async throws -> (subjects: Int, tokens: Int) {
        let run = try await cvault("status")
        try #require(run.status == 0, "cvault status failed: \(run.stderr)")
        func count(_ label: String) throws -> Int {
            let line = try #require(run.lines.first { $0.hasPrefix(label + " ") }, "status has no \(label) line")
            return try #require(Int(line.dropFirst(label.count).trimmingCharacters(in: .whitespaces)))
        }
        return (try count("subjects"), try count("tokens"))
    }

    /// `audit_public_key` as the keyring holds it (public: no passphrase needed): the file, or on PostgreSQL
    /// the keyring's row in the database.
    func auditPublicKeyInKeyring() throws -> String {
        let bytes =
            if postgres != nil {
                Data(try query("SELECT convert_from(bytes, 'UTF8') FROM keyring").utf8)
            } else {
                try #require(fileBytes(keyring), "no keyring file")
            }
        let object = try JSONSerialization.jsonObject(with: bytes) as? [String: Any]
        return try #require(object?["audit_public_key"] as? String, "the keyring file has no audit_public_key")
    }

    func writePolicy(_ yaml: String) throws {
        try writePrivateFile(policy, yaml)
    }

    /// Makes a vault for the duration of `body` and removes its folder afterwards. `initialized: false`
    /// leaves `cvault init` to the test.
    static func with<T>(
        initialized: Bool = true,
        policy yaml: String = fullAccessPolicy(),
        _ body: (VaultFixture) async throws -> T
    ) async throws -> T {
        let root = try makeTemporaryFolder(prefix: "cvault-cli")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let database = try TestServers.get().makeDatabase()
        defer { try? database?.drop() }
        let fixture = VaultFixture(root: root, passphrase: "test-passphrase-" + randomHex(16), postgres: database)
        try fixture.writePolicy(yaml)
        if initialized { try await fixture.initialize() }
        return try await body(fixture)
    }

    /// Email tokens are deterministic, cards format-preserving, the rest opaque. The identity (this uid) may
    /// tokenize every kind and erase; purpose `demo` reveals every kind but ssn plainly, `support` reveals
    /// masks, and nothing grants ssn for `demo`.
    static func fullAccessPolicy(identity: String = "operator", uid: UInt32 = getuid()) -> String {
        """
        kinds:
          email: deterministic
          card: format-preserving
        identities:
          - name: \(identity)
            uid: \(uid)
            roles: [dev]
        roles:
          dev:
            tokenize: [email, phone, card, ssn, name, address, date, text]
            detokenize:
              - kinds: [email, phone, card, name, address, date, text]
                purposes: [demo]
                reveal: plain
              - kinds: [email, phone, card, ssn, name, address, date, text]
                purposes: [support]
                reveal: masked
            erase: true

        """
    }
}

/// A test trait giving every test of a suite one shared, initialized vault (`SharedVault.current`), for
/// suites whose tests do not disturb each other: each `cvault` that opens the keyring pays Argon2id.
struct SharedVault: SuiteTrait, TestScoping {
    @TaskLocal static var current: VaultFixture?

    /// Runs once, after `cvault init`, before the suite's tests.
    let prepare: @Sendable (VaultFixture) async throws -> Void

    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        try await VaultFixture.with { vault in
            try await prepare(vault)
            try await SharedVault.$current.withValue(vault) { try await function() }
        }
    }

    /// The suite's vault; fails the test if it is not inside a suite with the trait.
    static func vault() throws -> VaultFixture {
        try #require(current, "the suite needs the .sharedVault trait")
    }
}

extension Trait where Self == SharedVault {
    static var sharedVault: SharedVault { SharedVault { _ in } }
    static func sharedVault(prepare: @escaping @Sendable (VaultFixture) async throws -> Void) -> SharedVault {
        SharedVault(prepare: prepare)
    }
}
