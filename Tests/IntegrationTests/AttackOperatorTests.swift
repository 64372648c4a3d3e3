import Foundation
import Testing
import VaultCore

#if canImport(Glibc)
import Glibc
#endif

/// Attacker: a malicious or careless operator (docs/THREAT_MODEL.md), with write access to the data folder
/// and the sqlite3 shell, hiding a reveal by editing, deleting or re-chaining audit records, or rolling the
/// vault back to an old backup. Claim: every such change is caught (`cvault audit verify` exits 3, or the
/// server and `restore` refuse). Cut-off tails and forged seals: AuditCommandTests and AuditTamperTests.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct AttackOperatorTests {
    /// A server that wrote a few records: tokenize, then three reveals of one token. Returns the token.
    static func vaultWithReveals(_ server: ServerHarness) throws -> String {
        try server.start()
        let token = try server.tokenize(kind: "text", subject: "op-audit", values: ["a value revealed three times"])[0]
        for _ in 0..<3 { _ = try server.detokenize([token]) }
        return token
    }

    /// A private copy of the (stopped) vault's data folder, for one tamper.
    static func copyData(_ server: ServerHarness, _ name: String) throws -> String {
        let copy = server.dir + "/" + name
        try FileManager.default.copyItem(atPath: server.dataDir, toPath: copy)
        return copy
    }

    /// `cvault audit verify` on the data folder `data` (no passphrase needed).
    static func verify(_ server: ServerHarness, data: String) throws -> ProcessResult {
        var environment = server.environment
        environment["CVAULT_DATA"] = data
        environment["CVAULT_PASSPHRASE"] = nil
        return try runProcess(
            ServerBinaries.cvault,
            ["audit", "verify"],
            environment: environment,
            directory: server.dir,
            timeout: 120
        )
    }

    /// The audit records (seq, body), oldest first.
    static func records(_ database: String) throws -> [(seq: Int, body: String)] {
        try sqlite3(database, "SELECT seq || char(31) || body FROM audit ORDER BY seq;").split(separator: "\n")
            .compactMap { line in
                let parts = line.split(separator: "\u{1F}", maxSplits: 1)
                guard parts.count == 2, let seq = Int(parts[0]) else { return nil }
                return (seq, String(parts[1]))
            }
    }

    /// The forger's tool: deletes record `seq` and rebuilds the unkeyed chain after it (renumbered bodies,
    /// new `prev` and `hash`), as AUDIT.md says anyone who can write the database could. Seals are left alone.
    static func deleteAndRechain(_ database: String, seq removed: Int) throws {
        let rows = try records(database)
        let before = try #require(rows.first { $0.seq == removed - 1 }, "record \(removed - 1) exists")
        var prev = AuditChain.hash(
            prev: try #require(
                Hex.decode(
                    try sqlite3(database, "SELECT hex(prev) FROM audit WHERE seq = \(before.seq);")
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                )
            ),
            body: before.body
        )
        var sql = "PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE; DELETE FROM audit WHERE seq >= \(removed);"
        for row in rows where row.seq > removed {
            let body = row.body.replacingOccurrences(of: "\"seq\":\(row.seq)", with: "\"seq\":\(row.seq - 1)")
            let hash = AuditChain.hash(prev: prev, body: body)
            sql +=
                "INSERT INTO audit(seq, prev, hash, body) VALUES (\(row.seq - 1), X'\(Hex.encode(prev))', X'\(Hex.encode(hash))', '"
                + body.replacingOccurrences(of: "'", with: "''") + "');"
            prev = hash
        }
        _ = try sqlite3(database, sql + "COMMIT;")
    }

    static func detokenizeIndex(_ database: String) throws -> Int {
        try #require(
            try records(database).first { $0.body.contains("\"event\":\"detokenize\"") }?.seq,
            "a detokenize record exists"
        )
    }

    /// Claim: an edited record (the reveal's identity changed), a deleted record, and a log re-chained after a
    /// deletion, with its seals kept or with every seal deleted, all make `audit verify` exit 3.
    @Test func editedDeletedOrRechainedAuditRecordsAreCaught() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        _ = try Self.vaultWithReveals(server)
        server.stop()
        let intact = try Self.verify(server, data: server.dataDir)
        #expect(intact.status == 0, "the control: the untouched log verifies: \(intact.stderr)")
        let reveal = try Self.detokenizeIndex(server.dataDir + "/cvault.db")

        let edited = try Self.copyData(server, "edited") + "/cvault.db"
        _ = try sqlite3(
            edited,
            #"UPDATE audit SET body = replace(body, '"identity":"operator"', '"identity":"helpdesk"') WHERE seq = \#(reveal);"#
        )
        #expect(try Self.records(edited).first { $0.seq == reveal }?.body.contains("helpdesk") == true, "the edit took")

        let deleted = try Self.copyData(server, "deleted") + "/cvault.db"
        _ = try sqlite3(deleted, "DELETE FROM audit WHERE seq = \(reveal);")

        let rechained = try Self.copyData(server, "rechained") + "/cvault.db"
        try Self.deleteAndRechain(rechained, seq: reveal)

        let unsealed = try Self.copyData(server, "rechained-unsealed") + "/cvault.db"
        try Self.deleteAndRechain(unsealed, seq: reveal)
        _ = try sqlite3(unsealed, "DELETE FROM audit_seals;")

        for (name, database) in [
            ("edited", edited), ("deleted", deleted), ("re-chained", rechained), ("re-chained, no seals", unsealed),
        ] {
            let run = try Self.verify(server, data: (database as NSString).deletingLastPathComponent)
            #expect(run.status == 3, "\(name): audit verify exits 3 (\(run.stderr))")
            #expect(run.stderr.contains("NOT intact"), "\(name): verify says the log is not intact")
        }
    }

    /// Claim: a log re-chained while the server runs, with the seals after the cut deleted, is caught: the
    /// server does not seal the forged head, reveals nothing while its chain is broken, and after it stops
    /// `audit verify` exits 3.
    @Test func aLogRechainedWithSealsDeletedWhileTheServerRunsIsCaught() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        let token = try Self.vaultWithReveals(server)
        usleep(1_500_000)  // past the seal interval, so the reveals are sealed before the forgery
        _ = try server.call("tokenize", ["kind": "text", "subject": "op-audit-2", "values": ["one more record"]])
        let database = server.dataDir + "/cvault.db"
        let reveal = try Self.detokenizeIndex(database)
        try Self.deleteAndRechain(database, seq: reveal)
        _ = try sqlite3(database, "PRAGMA busy_timeout = 10000; DELETE FROM audit_seals WHERE seq >= \(reveal);")

        // The server goes on: more writes (each may seal), a reveal attempt, then a clean stop (which seals).
        usleep(1_500_000)
        _ = try? server.call("tokenize", ["kind": "text", "subject": "op-audit-3", "values": ["after the forgery"]])
        let items =
            (try? server.call("detokenize", ["tokens": [token], "purpose": "ops"]))?.resultObject?["items"]
            as? [[String: String]]
        #expect(items?.contains { $0["value"] != nil } != true, "no reveal on a broken audit chain")
        server.stop()
        let run = try Self.verify(server, data: server.dataDir)
        #expect(run.status == 3, "the forged chain is caught after the server ran on it: \(run.stdout)")
    }

    /// Claim: restoring an old backup is never silent: without an explicit flag, `cvault restore` refuses a
    /// backup older than the vault's audit anchor, and leaves no database behind.
    @Test func restoringAnOldBackupIsRefusedWithoutAnExplicitFlag() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        _ = try server.tokenize(kind: "text", subject: "op-rollback", values: ["before the backup"])
        let backup = server.dir + "/backup-old"
        let made = try server.cvault(["backup", backup])
        try #require(made.status == 0, "backup: \(made.stderr)")
        let later = try server.tokenize(kind: "text", subject: "op-rollback", values: ["after the backup"])[0]
        for _ in 0..<3 { _ = try server.detokenize([later]) }
        #expect(try server.call("erase", ["subject": "op-rollback"]).resultObject?["erased"] as? Int == 2)
        server.stop()

        // The operator moves the current database away and restores the old copy.
        let moved = server.dir + "/data-now"
        try FileManager.default.createDirectory(atPath: moved, withIntermediateDirectories: false)
        for name in try FileManager.default.contentsOfDirectory(atPath: server.dataDir)
        where name.hasPrefix("cvault.db") {
            try FileManager.default.moveItem(atPath: server.dataDir + "/" + name, toPath: moved + "/" + name)
        }
        let restore = try server.cvault(["restore", backup])
        #expect(restore.status != 0, "a restore that rolls the vault back needs an explicit flag")
        #expect(
            !FileManager.default.fileExists(atPath: server.dataDir + "/cvault.db"),
            "the refused restore left no database"
        )
    }
}
