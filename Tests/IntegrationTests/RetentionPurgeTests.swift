import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// Retention with the real binary: `cvault purge [--dry-run]` offline, a purge killed with SIGKILL mid-way and
/// run again, and the background purge of a running server. Tokens are made past their retention by moving
/// their `created_at` back in the store, as an operator with the database could (the creation time is not bound into a value's associated data: it
/// is what retention reads, nothing more).
@Suite(.serialized) struct RetentionPurgeTests {
    static let day: Int64 = 86_400
    static let policy = VaultFixture.fullAccessPolicy() + "retention: {email: 30d, text: 30d}\n"

    /// Moves the `created_at` of the email and text tokens of subjects named `prefix…` 40 days back.
    static func age(_ fixture: VaultFixture, subjectsLike prefix: String) throws {
        try fixture.query(
            """
            UPDATE tokens SET created_at = created_at - \(40 * day)
            WHERE kind IN ('email', 'text') AND subject_id IN (SELECT id FROM subjects WHERE name LIKE '\(prefix)%');
            """
        )
    }

    /// Every audit record's body, in order.
    static func auditEvents(_ fixture: VaultFixture) throws -> [AuditEvent] {
        try fixture.query("SELECT body FROM audit ORDER BY seq;").split(separator: "\n").compactMap {
            AuditEvent.decode(String($0))
        }
    }

    static func count(_ fixture: VaultFixture, _ sql: String) throws -> Int {
        let text = try fixture.query(sql)
        return try #require(Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), "not a count: \(text)")
    }

    static func expectAuditIntact(
        _ fixture: VaultFixture,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let verify = try await fixture.cvault("audit", "verify")
        #expect(verify.status == 0, "audit verify: \(verify.stdout) \(verify.stderr)", sourceLocation: sourceLocation)
    }

    @Test func dryRunCountsAndChangesNothingThenThePurgeRemovesExactlyTheExpired() async throws {
        try await VaultFixture.with(policy: Self.policy) { vault in
            let oldEmails = try await vault.tokenize("email", subject: "old-1", ["a@x.org", "b@x.org", "c@x.org"])
            let oldTexts =
                try await vault.tokenize("text", subject: "old-1", ["t1", "t2"])
                + vault.tokenize("text", subject: "old-2", ["t3", "t4"])
            let young =
                try await vault.tokenize("phone", subject: "old-2", ["+14155550101"])
                + vault.tokenize("email", subject: "young-1", ["y@x.org"])
            try Self.age(vault, subjectsLike: "old-")
            let records = try Self.auditEvents(vault).count

            // Counts only, with no passphrase: nothing changes, nothing is recorded.
            let dry = try await vault.cvault("purge", "--dry-run", environment: ["CVAULT_PASSPHRASE": nil])
            #expect(dry.status == 0, "\(dry.stderr)")
            #expect(
                dry.lines.first == "would remove 7 tokens, and the data key of each subject left with none (dry run)"
            )
            #expect(dry.lines.dropFirst().map { $0.prefix { $0 != "(" } } == ["email: 3 tokens ", "text: 4 tokens "])
            let unchanged = try await vault.counts()
            #expect(unchanged.subjects == 3 && unchanged.tokens == 9)
            #expect(try Self.auditEvents(vault).count == records)

            let purge = try await vault.cvault("purge", "--batch", "2")
            #expect(purge.status == 0, "\(purge.stderr)")
            #expect(purge.lines.first == "removed 7 tokens and 1 data key in 4 batches")
            #expect(
                purge.lines.dropFirst().map { $0.prefix { $0 != "(" } } == [
                    "email: 3 tokens, 0 data keys ", "text: 4 tokens, 1 data key ",
                ]
            )
            let left = try await vault.counts()
            #expect(left.subjects == 3 && left.tokens == 2)
            let reveal = try await vault.cvault(["detokenize", "--purpose", "demo"] + oldEmails + oldTexts + young)
            #expect(reveal.lines == Array(repeating: "", count: 7) + ["+14155550101", "y@x.org"])
            // One record per batch, after the policy load of the command, with counts that add up.
            let purges = try Self.auditEvents(vault).dropFirst(records).filter { $0.event == .purge }
            #expect(purges.map(\.count) == [2, 2, 2, 1])
            #expect(purges.allSatisfy { $0.uid == getuid() && $0.outcome == .ok })
            try await Self.expectAuditIntact(vault)

            // old-1 kept no data key; tokenizing for it again works.
            let again = try await vault.tokenize("email", subject: "old-1", ["a@x.org"])
            #expect(try await vault.cvault(["detokenize", "--purpose", "demo"] + again).lines == ["a@x.org"])
        }
    }

    /// 30 subjects of 100 text tokens each past their retention, and 10 young ones: what the kill tests purge.
    static let oldSubjects = 30
    static let expired = oldSubjects * 100
    /// The count of tokens past their 30 days, in the store's own SQL for "now in Unix seconds".
    static func due(_ vault: VaultFixture) -> String {
        let now = vault.postgres == nil ? "unixepoch()" : "CAST(extract(epoch FROM now()) AS bigint)"
        return "SELECT count(*) FROM tokens WHERE created_at < \(now) - \(30 * day);"
    }
    static let purgeRecords = "SELECT count(*) FROM audit WHERE body LIKE '%\"event\":\"purge\"%';"

    static func seedExpired(_ vault: VaultFixture) async throws {
        try await vault.withServer { server in
            let socket = server.socket
            try await onThread {
                let client = try RPCConnection(socket: socket)
                for s in 0..<oldSubjects {
                    _ = try client.tokenize(kind: "text", subject: "old-\(s)", values: (0..<100).map { "v\(s).\($0)" })
                }
                _ = try client.tokenize(kind: "text", subject: "young-1", values: (0..<10).map { "y\($0)" })
            }
            #expect(await server.stop() == 0)
        }
        try age(vault, subjectsLike: "old-")
        #expect(try count(vault, due(vault)) == expired)
    }

    /// Waits (bounded) until `process` has recorded its first purge batch, then kills it with SIGKILL, and
    /// checks what the kill left: each committed batch whole (its rows gone, its record there), the one in
    /// flight undone, far from the end. Returns how many tokens the committed batches removed.
    static func killAfterFirstBatch(_ process: BackgroundCVault, _ vault: VaultFixture, batch: Int) async throws -> Int
    {
        let deadline = ContinuousClock.now + .seconds(120)
        while process.isRunning, try count(vault, purgeRecords) == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let kill = await process.kill9()
        #expect(kill.killed, "still running when killed: \(process.errorLines)")
        let purges = try auditEvents(vault).filter { $0.event == .purge }
        let removed = purges.compactMap(\.count).reduce(0, +)
        #expect(!purges.isEmpty && removed < expired)
        #expect(purges.allSatisfy { $0.count == batch })
        #expect(try count(vault, due(vault)) == expired - removed, "the counts add up after the kill")
        return removed
    }

    /// After the purge was finished: nothing due, every young token kept, the records add up to every expired
    /// token and every emptied subject's key, and the log verifies.
    static func expectFinished(_ vault: VaultFixture) async throws {
        #expect(try count(vault, due(vault)) == 0)
        #expect(try count(vault, "SELECT count(*) FROM tokens;") == 10, "none of the young tokens went")
        let purges = try auditEvents(vault).filter { $0.event == .purge }
        #expect(purges.compactMap(\.count).reduce(0, +) == expired)
        #expect(purges.compactMap { $0.perKind?["text"]?.dataKeys }.reduce(0, +) == oldSubjects)
        #expect(try count(vault, "SELECT count(*) FROM subjects WHERE length(wrapped_key) > 0;") == 1)
        try await expectAuditIntact(vault)
    }

    @Test func aPurgeKilledMidwayAndRunAgainFinishesTheJob() async throws {
        try await VaultFixture.with(policy: Self.policy) { vault in
            try await Self.seedExpired(vault)
            // 600 batches of 5: killed as soon as the first is recorded.
            let purging = try BackgroundCVault(
                ["purge", "--batch", "5"],
                environment: vault.environment,
                folder: vault.root,
                name: "purge"
            )
            let removed = try await Self.killAfterFirstBatch(purging, vault, batch: 5)
            let again = try await vault.cvault("purge", "--batch", "5")
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.lines.first?.hasPrefix("removed \(Self.expired - removed) tokens and ") == true)
            try await Self.expectFinished(vault)
        }
    }

    @Test func aServerKilledMidPurgeFinishesTheJobWhenStartedAgain() async throws {
        try await VaultFixture.with(policy: Self.policy) { vault in
            try await Self.seedExpired(vault)
            let options = ["--purge-interval", "1", "--purge-batch", "5"]
            let folder = try makeSocketFolder()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let killed = try await ServerProcess.start(
                environment: vault.environment,
                folder: vault.root,
                socket: folder + "/s.sock",
                extra: options
            )
            _ = try await Self.killAfterFirstBatch(killed.process, vault, batch: 5)
            try await vault.withServer(extra: options) { _ in
                let deadline = ContinuousClock.now + .seconds(120)
                while try Self.count(vault, Self.due(vault)) > 0, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            try await Self.expectFinished(vault)
        }
    }

    @Test func theServerPurgesInTheBackgroundOneRecordPerBatch() async throws {
        try await VaultFixture.with(policy: Self.policy) { vault in
            let old = try await vault.tokenize("email", subject: "bg-old", (0..<10).map { "o\($0)@x.org" })
            let young = try await vault.tokenize("email", subject: "bg-young", ["y@x.org"])
            try Self.age(vault, subjectsLike: "bg-old")
            let records = try Self.auditEvents(vault).count
            try await vault.withServer(extra: ["--purge-interval", "1", "--purge-batch", "3"]) { server in
                let socket = server.socket
                // The rows go without any request asking for them.
                let deadline = ContinuousClock.now + .seconds(60)
                while try Self.count(vault, "SELECT count(*) FROM tokens;") > 1, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                let answers = try await onThread { try RPCConnection(socket: socket).detokenize(old + young) }
                #expect(answers == Array(repeating: nil, count: 10) + ["y@x.org"])
                #expect(await server.stop() == 0)
            }

            let purges = try Self.auditEvents(vault).dropFirst(records).filter { $0.event == .purge }
            #expect(purges.map(\.count) == [3, 3, 3, 1], "one record per batch of 3")
            #expect(purges.allSatisfy { $0.identity == nil && $0.uid == nil && $0.perKind?.keys.sorted() == ["email"] })
            #expect(purges.compactMap { $0.perKind?["email"]?.dataKeys }.reduce(0, +) == 1)
            try await Self.expectAuditIntact(vault)
        }
    }
}
