import Foundation
import Testing
import VaultTestSupport

/// `--store` and `CVAULT_STORE`: parsed once at the edge; anything but a PostgreSQL URI is a usage error that
/// says what is accepted; the password a URI may carry never appears in any output.
@Suite struct StoreOptionTests {
    static let secrets = ["hunter2secret", "other2secret"]

    static func expectNoSecret(_ run: CVaultRun, sourceLocation: SourceLocation = #_sourceLocation) {
        for secret in secrets {
            #expect(!run.stdout.contains(secret), "a password in the output", sourceLocation: sourceLocation)
            #expect(!run.stderr.contains(secret), "a password in the errors", sourceLocation: sourceLocation)
        }
    }

    @Test("a --store that is not a PostgreSQL URI is a usage error naming what is accepted, never the value")
    func notPostgres() async throws {
        for store in [
            "mysql://admin:hunter2secret@db/vault",
            "sqlite:///srv/vault.db?password=hunter2secret",
            "postgresql://admin:hunter2/secret@db/vault",  // an unencoded '/' in the password: libpq misreads it
            "postgresql://admin:hunter2secret",  // no '@': the password would be read as a port
        ] {
            let run = try await CVaultProcess.run(["status", "--store", store], environment: [:])
            #expect(run.status == 64, "EX_USAGE for \(store.prefix(8))")
            #expect(run.stderr.contains("--store is not a store cvault can open"))
            #expect(run.stderr.contains("SQLite database in the --data folder"))
            Self.expectNoSecret(run)
            #expect(!run.stderr.contains("hunter2"))
        }
    }

    @Test("a CVAULT_STORE that is not a PostgreSQL URI is a usage error too, on every command that opens the vault")
    func badEnvironment() async throws {
        for command in [["status"], ["keys", "list"], ["audit", "verify"], ["verify"], ["init"]] {
            let run = try await CVaultProcess.run(
                command,
                environment: ["CVAULT_STORE": "redis://:hunter2secret@cache"]
            )
            #expect(run.status == 64, "\(command)")
            #expect(run.stderr.contains("CVAULT_STORE is not a store cvault can open"), "\(command)")
            Self.expectNoSecret(run)
        }
    }

    @Test("a PostgreSQL store that cannot be reached fails without showing its password")
    func unreachable() async throws {
        try await withTemporaryFolder { folder in
            let url =
                "postgresql://cvault:hunter2secret@/vault?host=\(folder)/no-such-socket-folder&password=other2secret&sslmode=disable"
            for command in [["status"], ["keys", "list"], ["audit", "verify"]] {
                let flag = try await CVaultProcess.run(command + ["--store", url, "--keys", folder], environment: [:])
                #expect(flag.status != 0 && flag.status != 64, "\(command)")
                Self.expectNoSecret(flag)
                let variable = try await CVaultProcess.run(
                    command + ["--keys", folder],
                    environment: ["CVAULT_STORE": url]
                )
                #expect(variable.status == flag.status, "\(command)")
                Self.expectNoSecret(variable)
            }
        }
    }
}
