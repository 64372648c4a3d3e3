import Foundation
import Testing

@Suite("cvault init")
struct InitCommandTests {
    @Test("creates a private keyring and database, prints the audit key, and never overwrites them")
    func initCreatesPrivateFilesAndRefusesASecondTime() async throws {
        try await VaultFixture.with(initialized: false) { vault in
            let first = try await vault.cvault("init")
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stderr == "")

            #expect(permissions(vault.keys) == 0o700)
            #expect(permissions(vault.keyring) == 0o600)
            #expect(permissions(vault.data) == 0o700)
            #expect(permissions(vault.database) == 0o600)

            // The printed key is the keyring's audit public key, which a reviewer pins.
            let publicKey = try vault.auditPublicKeyInKeyring()
            #expect(publicKey.count == 64 && publicKey.allSatisfy(\.isHexDigit))
            #expect(
                first.lines == [
                    "created keyring \(vault.keyring) (KEK v1 active, Argon2id 256 MiB)",
                    "created database \(vault.database)",
                    "audit public key \(publicKey)",
                ]
            )
            expectNoLeak(first, of: [vault.passphrase], "init")

            let keyringBefore = try #require(fileBytes(vault.keyring))
            let databaseBefore = try #require(fileBytes(vault.database))
            let second = try await vault.cvault("init")
            #expect(second.status == 1)
            #expect(second.stdout == "")
            #expect(second.errorLines == ["cvault: error: a vault already exists: \(vault.keyring)"])
            #expect(second.hintLines.count == 1)
            #expect(fileBytes(vault.keyring) == keyringBefore)
            #expect(fileBytes(vault.database) == databaseBefore)
            #expect(permissions(vault.keyring) == 0o600)
            #expect(permissions(vault.database) == 0o600)
        }
    }

    @Test("a failed init leaves no half-made vault behind: running it again with a good passphrase works")
    func failedInitCanBeRetried() async throws {
        try await VaultFixture.with(initialized: false) { vault in
            let short = try await vault.cvault("init", environment: ["CVAULT_PASSPHRASE": "too-short"])
            #expect(short.status == 1)
            #expect(short.errorLines == ["cvault: error: the passphrase is shorter than 12 characters"])
            expectNoLeak(short, of: ["too-short"], "short passphrase")
            #expect(!FileManager.default.fileExists(atPath: vault.keyring))
            let left = (try? FileManager.default.contentsOfDirectory(atPath: vault.data)) ?? []
            #expect(left.isEmpty, "files left in data/: \(left)")

            let retry = try await vault.cvault("init")
            #expect(retry.status == 0, "\(retry.stderr)")
            #expect(permissions(vault.keyring) == 0o600)
            #expect(permissions(vault.database) == 0o600)
        }
    }

    @Test("refuses when only the database exists, and creates no keyring")
    func initRefusesAnExistingDatabase() async throws {
        try await VaultFixture.with(initialized: false) { vault in
            try FileManager.default.createDirectory(
                atPath: vault.data,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
            try writePrivateFile(vault.database, "not a vault")
            let run = try await vault.cvault("init")
            #expect(run.status == 1)
            #expect(run.errorLines == ["cvault: error: a vault already exists: \(vault.database)"])
            #expect(run.hintLines.count == 1)
            #expect(!FileManager.default.fileExists(atPath: vault.keyring))
            #expect(fileBytes(vault.database) == Data("not a vault".utf8))
        }
    }
}
