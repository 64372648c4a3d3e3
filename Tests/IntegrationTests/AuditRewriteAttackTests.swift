import Foundation
import Testing

@testable import VaultCore

#if canImport(Glibc)
import Glibc
#endif

/// The review's attack on a running server: with the sqlite3 shell, delete a detokenize record and every
/// seal after it, renumber and re-chain the rest with correct BLAKE2b hashes. The server must not seal the
/// forgery, must say the log is broken (log, `health`), must refuse detokenize, and must keep refusing
/// after a restart; `audit verify` with a pinned key must fail naming the problem. Then the operator's
/// way out (`cvault audit accept`) is recorded and lifts the refusal.
@Suite(.serialized) struct AuditRewriteAttackTests {
    /// Rows as the sqlite3 shell gives them.
    static func rows(_ database: String) throws -> [AuditRow] {
        let out = try shell(
            database,
            "SELECT seq || ' ' || hex(prev) || ' ' || hex(hash) || ' ' || hex(body) FROM audit ORDER BY seq;"
        )
        return try out.split(separator: "\n").map { line in
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count == 4, let seq = Int64(parts[0]), let prev = Hex.decode(parts[1]),
                let hash = Hex.decode(parts[2]),
                let body = Hex.decode(parts[3])
            else { throw HarnessError("unexpected sqlite3 row") }
            return AuditRow(seq: seq, prev: prev, hash: hash, body: String(decoding: body, as: UTF8.self))
        }
    }

    /// The sqlite3 shell with a busy timeout, so the attacker's transaction waits for the server's.
    @discardableResult
    static func shell(_ database: String, _ sql: String) throws -> String {
        try sqlite3(database, sql, busyTimeoutMilliseconds: 10_000)
    }

    /// Deletes record `victim` and every seal from it on, and moves the records after it down by one with
    /// their bodies' seq rewritten and the chain recomputed from record `victim - 1`: in one transaction.
    static func deleteAndRechain(_ database: String, victim: Int64) throws {
        let rows = try rows(database)
        var prev = try #require(rows.first { $0.seq == victim - 1 }).hash
        var sql = [
            "BEGIN IMMEDIATE;", "DELETE FROM audit WHERE seq >= \(victim);",
            "DELETE FROM audit_seals WHERE seq >= \(victim);",
        ]
        for row in rows where row.seq > victim {
            var event = try #require(AuditEvent.decode(row.body))
            event.seq = row.seq - 1
            let body = event.canonicalJSON()
            let hash = AuditChain.hash(prev: prev, body: body)
            sql.append(
                "INSERT INTO audit(seq, prev, hash, body) VALUES (\(event.seq), X'\(Hex.encode(prev))', X'\(Hex.encode(hash))', "
                    + "'\(body.replacingOccurrences(of: "'", with: "''"))');"
            )
            prev = hash
        }
        sql.append("COMMIT;")
        try shell(database, sql.joined(separator: "\n"))
    }

    static func health(_ server: ServerHarness) throws -> (status: String?, audit: String?) {
        let result = try server.call("health").resultObject
        return (result?["status"] as? String, result?["audit"] as? String)
    }

    @Test func aLogRewrittenUnderARunningServerIsNeverSealedAndRevealsStop() async throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        let database = server.dataDir + "/cvault.db"
        let card = try server.tokenize(kind: "card", subject: "cust-1", values: ["4111111111111111"])
        _ = try server.detokenize(card)
        _ = try server.tokenize(kind: "email", subject: "cust-2", values: ["ada@example.com"])
        _ = try server.detokenize(card)
        _ = try server.tokenize(kind: "email", subject: "cust-3", values: ["grace@example.com"])
        // Let the server seal the head and anchor it.
        #expect(
            server.eventually(timeout: 10) {
                let seals = try Self.shell(database, "SELECT max(seq) FROM audit_seals;").trimmingCharacters(
                    in: .whitespacesAndNewlines
                )
                let head = try Self.shell(database, "SELECT max(seq) FROM audit;").trimmingCharacters(
                    in: .whitespacesAndNewlines
                )
                return seals == head
            }
        )
        let victim = try #require(try Self.rows(database).first { $0.body.contains("\"event\":\"detokenize\"") }).seq
        let headBefore = try #require(try Self.rows(database).last).seq
        try #require(victim < headBefore)

        try Self.deleteAndRechain(database, victim: victim)
        #expect(try Self.rows(database).count == Int(headBefore) - 1)
        #expect(try Self.shell(database, "SELECT count(*) FROM audit_seals WHERE seq >= \(victim);") == "0\n")

        // The server notices within a second (it looks at the head each second) and says so.
        #expect(server.eventually(timeout: 10) { try Self.health(server).audit == "broken" })
        #expect(try Self.health(server).status == "degraded")
        usleep(2_000_000)
        #expect(
            try Self.shell(database, "SELECT count(*) FROM audit_seals WHERE seq >= \(victim);") == "0\n",
            "the server sealed the forged chain"
        )
        #expect(server.serverLog().contains("AUDIT LOG BROKEN"))

        // Detokenize fails closed, with the audit error naming the problem.
        let refused = try server.call("detokenize", ["tokens": card, "purpose": "ops"])
        #expect(refused.errorCode == -32006)
        #expect((refused.errorData?["reason"] as? String)?.contains("the audit log is broken") == true)
        // Tokenize still works (and is recorded), but nothing is sealed.
        _ = try server.tokenize(kind: "email", subject: "cust-4", values: ["later@example.com"])
        usleep(1_500_000)
        #expect(try Self.shell(database, "SELECT count(*) FROM audit_seals WHERE seq >= \(victim);") == "0\n")

        // A pinned key does not make the forgery pass: the anchor in the keys folder gives it away.
        let publicKey = try KeyringFile.read(at: server.keysDir + "/cvault.keyring").auditPublicKey
        let verify = try server.cvault(["audit", "verify", "--public-key", publicKey])
        #expect(verify.status == 3)
        #expect(verify.stderr.contains("audit log is NOT intact: "))
        #expect(verify.stderr.contains("audit anchor"), "\(verify.stderr)")
        let status = try server.cvault(["status"])
        #expect(status.stdout.contains("CHAIN BROKEN: "), "\(status.stdout)")

        // A restart still refuses.
        server.stop()
        let (process, _) = try server.launch()
        defer {
            if process.isRunning {
                kill(process.processIdentifier, SIGTERM)
                try? waitForProcessExit(process, timeout: 30)
            }
        }
        #expect(server.eventually(timeout: 60) { try Self.health(server).audit == "broken" })
        let stillRefused = try server.call("detokenize", ["tokens": card, "purpose": "ops"])
        #expect(stillRefused.errorCode == -32006)
        #expect(try Self.shell(database, "SELECT count(*) FROM audit_seals WHERE seq >= \(victim);") == "0\n")

        // The operator accepts the log as it is; the running server picks the new anchor up and reveals again.
        let accept = try server.cvault(["audit", "accept", "--reason", "investigated: a test rewrote the log"])
        #expect(accept.status == 0, "\(accept.stderr)")
        #expect(server.eventually(timeout: 10) { try Self.health(server).audit == "ok" })
        #expect(try Self.health(server).status == "ok")
        let items = try server.detokenize(card)
        #expect(items.first?["reveal"] == "plain")
        let verified = try server.cvault(["audit", "verify", "--public-key", publicKey])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("; audit_accept at record "), "\(verified.stdout)")
        #expect(verified.stdout.contains("lost anchored head record \(headBefore)"), "\(verified.stdout)")
        // A second accept on an intact log is refused.
        #expect(try server.cvault(["audit", "accept", "--reason", "again"]).status != 0)
    }
}
