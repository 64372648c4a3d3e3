import Foundation
import Testing
import VaultTestSupport

/// The CLI on a PostgreSQL store (needs `CVAULT_TEST_POSTGRES`, see `PostgresTestDatabase`): `init --store`
/// keeps the keyring in the database and prints the least-privilege SQL, `status` shows the store without
/// its password, a server picks up a rotation made by the CLI, and `migrate` moves a SQLite vault over,
/// continuing after a SIGKILL half-way.
@Suite(.serialized) struct PostgresStoreCLITests {
    static let secret = "hunter2secret"

    /// The test database's URI with a password the trusting test cluster ignores, to see it never shown.
    static func withPassword(_ uri: String) -> String { uri + (uri.contains("?") ? "&" : "?") + "password=\(secret)" }

    static func expectNoSecret(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!text.contains(secret), "the store's password was shown", sourceLocation: sourceLocation)
    }

    @Test("init --store keeps the keyring in the database; status redacts; a server picks up a CLI rotation")
    func initStatusAndPickup() async throws {
        try await PostgresTestDatabase.with { db in
            try await VaultFixture.with(initialized: false) { vault in
                let store = ["CVAULT_STORE": Self.withPassword(db.uri)]
                let made = try await vault.cvault("init", environment: store)
                try #require(made.status == 0, "init failed: \(made.stderr)")
                Self.expectNoSecret(made.stdout + made.stderr)
                #expect(made.stdout.contains("created keyring in the database postgresql://"))
                #expect(made.stdout.contains("CREATE ROLE \"cvault_server\" LOGIN;"))
                #expect(made.stdout.contains("GRANT SELECT, INSERT ON audit, audit_seals, audit_subjects"))
                #expect(!FileManager.default.fileExists(atPath: vault.keyring), "no keyring file with the store")
                #expect(FileManager.default.fileExists(atPath: vault.keys + "/audit.anchor"), "the anchor is local")
                #expect(try db.run("SELECT generation FROM keyring") == "1")

                let status = try await vault.cvault("status", environment: store)
                #expect(status.status == 0, "\(status.stderr)")
                Self.expectNoSecret(status.stdout + status.stderr)
                #expect(status.lines.contains { $0.hasPrefix("database  postgresql://") })
                #expect(status.lines.contains { $0.hasPrefix("keyring   in the database postgresql://") })

                let tokens = try await vault.cvault(
                    ["tokenize", "--kind", "name", "--subject", "c1"],
                    stdin: "Ada\n",
                    environment: store
                )
                try #require(tokens.status == 0, "\(tokens.stderr)")
                let socketFolder = try makeSocketFolder()
                defer { try? FileManager.default.removeItem(atPath: socketFolder) }
                var env = vault.environment
                env.merge(store.mapValues { $0 }) { _, new in new }
                let server = try await ServerProcess.start(
                    environment: env,
                    folder: vault.root,
                    socket: socketFolder + "/s"
                )
                let rotated = try await vault.cvault("keys", "rotate", environment: store)
                #expect(rotated.status == 0, "\(rotated.stderr)")
                try await server.waitForActiveKEK(2)
                let socket = server.socket
                let revealed = try await onThread {
                    try RPCConnection(socket: socket, timeoutSeconds: 10).detokenize(tokens.lines, purpose: "demo")
                }
                #expect(revealed == ["Ada"])
                await server.stop()
                Self.expectNoSecret(server.process.stdout + server.process.stderr)
                let backup = try await vault.cvault("backup", vault.root + "/backup", environment: store)
                #expect(backup.status != 0)
                #expect(backup.stderr.contains("pg_dump"))
                Self.expectNoSecret(backup.stderr)
            }
        }
    }

    static let migrationPolicy = """
        kinds:
          email: deterministic
          card: format-preserving
        identities:
          - name: operator
            uid: \(getuid())
            roles: [dev]
        roles:
          dev:
            tokenize: [email, phone, card, ssn, name, address, date, text]
            detokenize:
              - kinds: [email, phone, card, ssn, name, address, date, text]
                purposes: [demo, marketing]
                reveal: plain
            erase: true
            restrict: true
            consent: true
        consent_required: [marketing]

        """

    @Test("migrate moves a SQLite vault into PostgreSQL, continues after a SIGKILL, and the copy serves")
    func migrateKilledAndResumed() async throws {
        try await VaultFixture.with(policy: Self.migrationPolicy) { vault in
            // Tokens of every kind, a consent, a restriction, an erase (a card tombstone) and a rotated key.
            let values: [(String, String)] = [
                ("email", "ada@example.com"), ("phone", "+442079460958"), ("card", "4111111111111111"),
                ("ssn", "078-05-1120"), ("name", "Ada Lovelace"), ("address", "12 St James's Square, London"),
                ("date", "1815-12-10"), ("text", "analytical engine"),
            ]
            var tokens: [String] = []
            for (kind, value) in values { tokens += try await vault.tokenize(kind, subject: "s1", [value]) }
            let consent = try await vault.cvault(
                "consent",
                "grant",
                "--subject",
                "s1",
                "--purposes",
                "marketing",
                "--source",
                "web"
            )
            try #require(consent.status == 0, "\(consent.stderr)")
            let restricted = try await vault.tokenize("name", subject: "s2", ["Grace Hopper"])
            let restrict = try await vault.cvault("subject", "restrict", "--subject", "s2", "--reason", "dispute")
            try #require(restrict.status == 0, "\(restrict.stderr)")
            let erased = try await vault.tokenize("card", subject: "s3", ["5555555555554444"])
            try #require(try await vault.cvault("erase", "--subject", "s3").status == 0)
            try #require(try await vault.cvault("keys", "rotate").status == 0)
            try #require(try await vault.cvault("keys", "rewrap").status == 0)
            for part in 0..<3 {
                let bulk = (0..<500).map { "bulk\(part)-\($0)@example.com" }
                let many = try await vault.cvault(
                    ["tokenize", "--kind", "email", "--subject", "bulk"],
                    stdin: bulk.joined(separator: "\n") + "\n"
                )
                try #require(many.status == 0, "\(many.stderr)")
            }

            try await PostgresTestDatabase.with { db in
                let killed = try BackgroundCVault(
                    ["migrate", "--to", db.uri, "--batch", "1"],
                    environment: vault.environment,
                    folder: vault.root,
                    name: "migrate-killed"
                )
                // Half-way: some tokens copied, not all (bounded wait).
                let deadline = ContinuousClock.now + .seconds(120)
                while true {
                    let copied = try? db.run("SELECT copied FROM cvault_migration WHERE table_name = 'tokens'")
                    if let copied, let n = Int(copied.trimmingCharacters(in: .whitespacesAndNewlines)), n > 100 {
                        break
                    }
                    try #require(ContinuousClock.now < deadline && killed.isRunning, "migrate never got half-way")
                    try await Task.sleep(for: .milliseconds(20))
                }
                let kill = await killed.kill9()
                try #require(kill.killed, "migrate had finished before the kill")
                #expect(try db.run("SELECT count(*) FROM keyring") == "0", "a half-done copy has no keyring")

                let resumed = try await vault.cvault("migrate", "--to", db.uri, "--batch", "200")
                try #require(resumed.status == 0, "the resumed migration failed: \(resumed.stderr)")
                #expect(resumed.stdout.contains("resuming the migration"))
                #expect(resumed.lines.contains("count tokens: 1509 = 1509"))
                #expect(resumed.lines.contains { $0.hasPrefix("verify: 1509 tokens of 3 subjects authenticate") })
                #expect(resumed.lines.contains { $0.hasPrefix("audit verify: audit log intact") })
                #expect(try db.run("SELECT count(*) FROM pg_class WHERE relname = 'cvault_migration'") == "0")

                let again = try await vault.cvault("migrate", "--to", db.uri)
                #expect(again.status != 0)
                #expect(again.errorLines.first?.contains("already holds a vault") == true)

                // Served from PostgreSQL: every pre-migration token reveals, the restriction and the erase hold,
                // and a new token gets an id no old one had.
                let socketFolder = try makeSocketFolder()
                defer { try? FileManager.default.removeItem(atPath: socketFolder) }
                var env = vault.environment
                env["CVAULT_STORE"] = db.uri
                let server = try await ServerProcess.start(
                    environment: env,
                    folder: vault.root,
                    socket: socketFolder + "/s"
                )
                let socket = server.socket
                let before = tokens
                let (plain, marketing, blocked, gone, fresh) = try await onThread {
                    let client = try RPCConnection(socket: socket, timeoutSeconds: 30)
                    return (
                        try client.detokenize(before, purpose: "demo"),
                        try client.detokenize([before[0]], purpose: "marketing"),
                        try client.detokenize(restricted, purpose: "demo"),
                        try client.detokenize(erased, purpose: "demo"),
                        try client.tokenize(kind: "text", subject: "s4", values: ["after the move"])
                    )
                }
                await server.stop()
                #expect(plain == values.map { $0.1 })
                #expect(marketing == ["ada@example.com"], "s1's consent came along")
                #expect(blocked == [nil], "s2's restriction came along")
                #expect(gone == [nil], "s3's erase came along")
                #expect(!tokens.contains(fresh[0]))
                let verify = try await vault.cvault("verify", environment: ["CVAULT_STORE": db.uri])
                #expect(verify.status == 0, "\(verify.stderr)")
                #expect(verify.stdout.contains("verified: 1510 tokens of 4 subjects"))
            }
        }
    }
}
