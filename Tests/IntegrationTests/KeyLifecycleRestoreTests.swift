import Foundation
import Testing

/// `cvault restore` after a crash: the crashed database's WAL must not be replayed into the restored copy,
/// and a restore that fails its checks leaves no database behind.
@Suite struct KeyLifecycleRestoreTests {
    @Test func aWALLeftByACrashedDatabaseIsRefusedNotReplayed() async throws {
        try await VaultFixture.with { vault in
            let backup = vault.root + "/backup"
            let made = try await vault.cvault([
                "tokenize", "--kind", "text", "--subject", "cust-1", "first value", "second value",
            ])
            try #require(made.status == 0, "tokenize failed: \(made.errorLines)")
            try #require(try await vault.cvault(["backup", backup]).status == 0)

            // The live vault moves on, then its server dies without closing the database: the WAL stays.
            let socketFolder = try makeSocketFolder()
            defer { try? FileManager.default.removeItem(atPath: socketFolder) }
            let server = try await ServerProcess.start(
                environment: vault.environment,
                folder: vault.root,
                socket: socketFolder + "/s.sock"
            )
            let socket = server.socket
            do {
                try await onThread {
                    let connection = try RPCConnection(socket: socket)
                    for n in 0..<20 {
                        _ = try connection.tokenize(kind: "text", subject: "cust-after-\(n)", values: ["later \(n)"])
                    }
                }
            } catch {
                server.process.signal(SIGKILL)
                throw error
            }
            _ = await server.process.kill9()
            try #require(
                FileManager.default.fileExists(atPath: vault.database + "-wal"),
                "the killed server left no WAL"
            )

            // The operator moves the database away, but not its WAL.
            try FileManager.default.moveItem(atPath: vault.database, toPath: vault.root + "/crashed.db")
            let refused = try await vault.cvault(["restore", backup])
            #expect(refused.status == 1)
            #expect(refused.errorLines == ["cvault: error: \(vault.database)-wal is left from another database"])
            #expect(
                !FileManager.default.fileExists(atPath: vault.database),
                "restore wrote a database next to a foreign WAL"
            )

            // With the side files moved away too, the restore gives exactly the backup (older than the audit
            // anchor, so only with the operator's explicit consent: RestoreRollbackTests).
            for side in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: vault.database + side) {
                try FileManager.default.moveItem(
                    atPath: vault.database + side,
                    toPath: vault.root + "/crashed.db" + side
                )
            }
            let restored = try await vault.cvault(["restore", "--accept-rollback", backup])
            #expect(restored.status == 0, "restore failed: \(restored.errorLines)")
            #expect(restored.lines.first?.hasPrefix("restored 1 subjects, 2 tokens, ") == true)
            let verified = try await vault.cvault(["verify"])
            #expect(verified.status == 0, "verify failed: \(verified.errorLines)")
            #expect(
                verified.lines.first?.hasPrefix("verified: 2 tokens of 1 subjects authenticate; audit log intact")
                    == true
            )
        }
    }

    @Test func aRestoreWhoseCountsDifferFromTheManifestLeavesNoDatabase() async throws {
        try await VaultFixture.with { vault in
            let backup = vault.root + "/backup"
            try #require(try await vault.cvault(["backup", backup]).status == 0)
            // The manifest is not authenticated; a wrong count in it (a mix-up of backups) must stop the restore.
            let manifestPath = backup + "/manifest.json"
            let bytes = try #require(fileBytes(manifestPath))
            var manifest = try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
            manifest["tokens"] = 7
            try writePrivateFile(
                manifestPath,
                String(decoding: try JSONSerialization.data(withJSONObject: manifest), as: UTF8.self)
            )
            let target = vault.root + "/restored"
            let refused = try await vault.cvault(["restore", backup], environment: ["CVAULT_DATA": target])
            #expect(refused.status == 3)
            #expect(refused.errorLines == ["cvault: error: the restored database's counts differ from the manifest"])
            let left = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
            #expect(left.isEmpty, "a failed restore left \(left)")
        }
    }
}
