import Foundation
import Testing

/// `cvault backup` while clients write, `cvault restore` into an empty data folder, `cvault verify` of the
/// restored copy; a backup with one byte changed is refused.
extension KeyLifecycleTests {
    func backupDuringWrites(_ vault: LargeVault) async throws {
        let destination = vault.fixture.root + "/backup-\(randomHex(4))"
        let traffic = vault.startTraffic(tag: "backup")
        let backup: CVaultRun
        do {
            try await LargeVault.waitForProgress(traffic, more: 10)
            let atStart = traffic.requests
            backup = try await vault.cvault("backup", destination)
            #expect(traffic.requests > atStart, "no request was made while the backup ran")
            try await traffic.stop()
        } catch {
            try? await traffic.stop()
            throw error
        }
        #expect(traffic.failures == 0, "failed requests during the backup: \(traffic.firstProblems)")
        try #require(backup.status == 0, "backup failed: \(backup.errorLines)")

        let manifest = try Self.manifest(destination)
        let subjects = try #require(manifest["subjects"] as? Int)
        let tokens = try #require(manifest["tokens"] as? Int)
        let records = try #require(manifest["audit_records"] as? Int)
        expectLines(
            backup,
            [
                "backed up \(subjects) subjects, \(tokens) tokens, \(records) audit records to \(destination)",
                "the keyring is not in the backup: keep a copy of \(vault.keyring) (generation \(try Self.generation(vault))) apart from it",
            ],
            "backup"
        )
        #expect(subjects >= LargeVault.subjects && tokens >= vault.tokens.count)
        #expect((manifest["kek_versions_needed"] as? [Int]) == [try await vault.keys().active])
        #expect(permissions(destination) == 0o700 && permissions(destination + "/cvault.db") == 0o600)
        let clear = vault.sample.prefix(3).flatMap { filesContaining(Data(vault.value($0).utf8), under: destination) }
        #expect(clear.isEmpty, "a value is in the backup in the clear")

        // Into an empty data folder, next to the live one; the same keyring opens it. A keys folder of its own
        // (the keyring copied, not the live vault's audit anchor), as docs/OPERATIONS.md says for restore tests:
        // the live vault's traffic went on after the backup, so under its anchor this copy would be a rollback.
        let restoredData = vault.fixture.root + "/restored-\(randomHex(4))"
        let restoredKeys = vault.fixture.root + "/restored-keys-\(randomHex(4))"
        try FileManager.default.createDirectory(
            atPath: restoredKeys,
            withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o700]
        )
        try FileManager.default.copyItem(atPath: vault.keyring, toPath: restoredKeys + "/cvault.keyring")
        let restoredEnvironment = ["CVAULT_DATA": restoredData, "CVAULT_KEYS": restoredKeys]
        let restore = try await vault.cvault("restore", destination, environment: restoredEnvironment)
        #expect(restore.status == 0, "restore failed: \(restore.errorLines)")
        #expect(
            restore.lines.first
                == "restored \(subjects) subjects, \(tokens) tokens, \(records) audit records into \(restoredData)/cvault.db"
        )
        let verify = try await vault.cvault("verify", environment: restoredEnvironment)
        #expect(verify.status == 0, "verify of the restored copy failed: \(verify.errorLines)")
        // The backup's records and the restore's own.
        expectLines(
            verify,
            [
                "verified: \(tokens) tokens of \(subjects) subjects authenticate; audit log intact (\(records + 1) records)"
            ],
            "verify of the restored copy"
        )
        let status = try await vault.cvault("status", environment: restoredEnvironment)
        #expect(status.lines.contains("subjects  \(subjects)") && status.lines.contains("tokens    \(tokens)"))

        // Restoring over a live database is refused.
        let over = try await vault.cvault("restore", destination)
        #expect(over.status == 1)
        #expect(over.errorLines == ["cvault: error: \(vault.database) already exists"])

        // One byte changed in the copy: refused before anything is written.
        let tampered = vault.fixture.root + "/tampered-\(randomHex(4))"
        try FileManager.default.copyItem(atPath: destination, toPath: tampered)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: tampered + "/cvault.db"))
        let size = try handle.seekToEnd()
        let offset = UInt64.random(in: 4_096..<size)
        try handle.seek(toOffset: offset)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data([byte ^ 0x01]))
        try handle.close()
        let tamperedData = vault.fixture.root + "/restored-tampered-\(randomHex(4))"
        let refused = try await vault.cvault("restore", tampered, environment: ["CVAULT_DATA": tamperedData])
        #expect(refused.status == 3)
        #expect(
            refused.errorLines == [
                "cvault: error: \(tampered)/cvault.db does not match its manifest's hash (altered or incomplete)"
            ]
        )
        #expect(!FileManager.default.fileExists(atPath: tamperedData + "/cvault.db"))
    }

    static func manifest(_ folder: String) throws -> [String: Any] {
        let bytes = try #require(fileBytes(folder + "/manifest.json"), "no manifest.json")
        return try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
    }

    static func generation(_ vault: LargeVault) throws -> Int {
        let bytes = try #require(fileBytes(vault.keyring))
        return try #require((try JSONSerialization.jsonObject(with: bytes) as? [String: Any])?["generation"] as? Int)
    }
}
