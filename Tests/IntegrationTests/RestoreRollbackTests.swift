import Foundation
import Testing

/// `cvault restore` is never silent: it needs the keyring, refuses a backup older than the audit anchor
/// unless told `--accept-rollback`, records the restore naming the head that was lost, and `audit verify`
/// reports the rollback.
@Suite struct RestoreRollbackTests {
    /// The anchor file's members (docs/AUDIT.md, The anchor), read as any reviewer would.
    func anchor(_ vault: VaultFixture) -> (epoch: Int, seq: Int, hash: String)? {
        guard let bytes = fileBytes(vault.keys + "/audit.anchor"),
            let object = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any],
            let epoch = object["epoch"] as? Int, let seq = object["seq"] as? Int, let hash = object["hash"] as? String
        else { return nil }
        return (epoch, seq, hash)
    }

    /// Moves the live database (and its side files) away, as an operator does before a restore.
    func moveDatabaseAway(_ vault: VaultFixture, to name: String) throws {
        for side in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: vault.database + side) {
            try FileManager.default.moveItem(atPath: vault.database + side, toPath: vault.root + "/" + name + side)
        }
    }

    @Test func anOlderBackupIsRefusedWithoutTheFlagAndRecordedWithIt() async throws {
        try await VaultFixture.with { vault in
            let limited = try await vault.cvault([
                "tokenize", "--kind", "text", "--subject", "cust-1", "--max-reveals", "1", "once only",
            ])
            try #require(limited.status == 0, "\(limited.stderr)")
            let token = try #require(limited.lines.first)
            _ = try await vault.tokenize("text", subject: "cust-erased", ["to be erased"])
            let backup = vault.root + "/backup"
            try #require(try await vault.cvault(["backup", backup]).status == 0)

            // After the backup: the limited token is revealed (its budget spent) and a subject is erased.
            #expect(try await vault.cvault(["detokenize", "--purpose", "demo", token]).status == 0)
            let spent = try await vault.cvault(["detokenize", "--purpose", "demo", token])
            #expect(spent.status == 1 && spent.stderr.contains("denied"), "\(spent.stderr)")
            #expect(try await vault.cvault(["erase", "--subject", "cust-erased"]).status == 0)
            let anchor = self.anchor(vault)
            try moveDatabaseAway(vault, to: "moved")

            // No passphrase, no restore.
            let locked = try await vault.cvault(
                ["restore", backup],
                stdin: "",
                environment: ["CVAULT_PASSPHRASE": nil]
            )
            #expect(locked.status != 0)
            #expect(!FileManager.default.fileExists(atPath: vault.database))

            // Without the flag: refused, naming the rollback, and nothing left behind.
            let refused = try await vault.cvault(["restore", backup])
            #expect(refused.status == 3)
            #expect(
                refused.errorLines.first?.contains("restoring it rolls the vault back") == true,
                "\(refused.stderr)"
            )
            #expect(
                refused.errorLines.first?.contains("anchor (record \(anchor?.seq ?? -1)") == true,
                "\(refused.stderr)"
            )
            #expect(
                refused.hintLines == [
                    "cvault: hint: pass --accept-rollback to restore it anyway; read docs/OPERATIONS.md first "
                        + "(reveal counts and erasures go back too)"
                ]
            )
            #expect(!FileManager.default.fileExists(atPath: vault.database), "a refused restore left a database")

            // With it: restored, said out loud, and recorded.
            let restored = try await vault.cvault(["restore", "--accept-rollback", backup])
            #expect(restored.status == 0, "\(restored.stderr)")
            #expect(
                restored.lines.contains {
                    $0.hasPrefix("ROLLED BACK: the vault had sealed up to record \(anchor?.seq ?? -1) ")
                }
            )
            let records = try jsonObjects(try await vault.cvault(["audit", "export", "--event", "restore"]))
            #expect(records.count == 1)
            let record = try #require(records.first)
            #expect(record["outcome"] as? String == "rollback")
            let detail = try #require(record["detail"] as? String)
            #expect(
                detail.contains("lost head record \(anchor?.seq ?? -1) (hash \(anchor?.hash ?? "none"))"),
                "\(detail)"
            )
            #expect(detail.contains("backup head record "), "\(detail)")

            // verify passes, and its summary says the log was rolled back and what was lost.
            let verify = try await vault.cvault(["audit", "verify"])
            #expect(verify.status == 0, "\(verify.stderr)")
            #expect(verify.stdout.contains("; restore at record "), "\(verify.stdout)")
            #expect(verify.stdout.contains("lost head record \(anchor?.seq ?? -1)"), "\(verify.stdout)")
            // The anchor moved to the restore record, in a new epoch.
            let moved = self.anchor(vault)
            #expect(moved?.epoch == (anchor?.epoch ?? -1) + 1)
            #expect(moved?.seq == record["seq"] as? Int)
            // What OPERATIONS.md warns about: the budget is back, and so is the erased subject.
            let again = try await vault.cvault(["detokenize", "--purpose", "demo", token])
            #expect(again.status == 0 && again.stdout.contains("once only"))
        }
    }

    @Test func aCurrentBackupRestoresWithoutTheFlagAndIsRecorded() async throws {
        try await VaultFixture.with { vault in
            _ = try await vault.tokenize("text", subject: "cust-1", ["kept"])
            let backup = vault.root + "/backup"
            try #require(try await vault.cvault(["backup", backup]).status == 0)
            try moveDatabaseAway(vault, to: "moved")
            let restored = try await vault.cvault(["restore", backup])
            #expect(restored.status == 0, "\(restored.stderr)")
            #expect(!restored.stdout.contains("ROLLED BACK"))
            let records = try jsonObjects(try await vault.cvault(["audit", "export", "--event", "restore"]))
            #expect(records.map { $0["outcome"] as? String } == ["ok"])
            #expect((records.first?["detail"] as? String)?.contains("nothing lost") == true)
            let verify = try await vault.cvault(["audit", "verify"])
            #expect(verify.status == 0, "\(verify.stderr)")
            #expect(!verify.stdout.contains("restore at record"))
        }
    }
}
