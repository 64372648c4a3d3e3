import Foundation
import Testing

/// `misses_per_minute` over the socket: the answer a guesser gets, and what the audit log keeps.
@Suite(.timeLimit(.minutes(10)))
struct ServerMissBudgetTests {
    /// The standard policy, with the admin role's miss budget at 3 a minute.
    static let policy = ServerPolicies.standard.replacingOccurrences(
        of: "    erase: true\n",
        with: "    erase: true\n    limits: { misses_per_minute: 3 }\n"
    )

    @Test func missesOverTheBudgetAreRefusedWithTheLimitNamedAndAudited() throws {
        #expect(Self.policy.contains("misses_per_minute: 3"))
        let server = try ServerHarness(policy: Self.policy)
        defer { server.destroy() }
        try server.start()
        let tokens = try server.tokenize(kind: "ssn", subject: "cust-1", values: ["123-45-6701"])
        let guesses = (0..<4).map { String(format: "9%02d-%02d-%04d", $0, $0, $0) }
        let refused = try server.call("detokenize", ["tokens": tokens + guesses, "purpose": "ops"])
        #expect(refused.errorCode == -32003)
        #expect(refused.errorData?["field"] as? String == "misses_per_minute")
        #expect(refused.errorData?["limit"] as? Int == 3)
        #expect((refused.errorData?["retry_after_ms"] as? Int ?? 0) > 0)
        let answered = refused["result"] != nil
        #expect(!answered, "a refused call reveals nothing")
        // In debt now: even the real token alone is refused (the refusal cannot depend on hits).
        let inDebt = try server.call("detokenize", ["tokens": tokens, "purpose": "ops"])
        #expect(inDebt.errorCode == -32003)
        let export = try server.cvault(["audit", "export", "--event", "detokenize"])
        #expect(export.status == 0)
        let records = export.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let reasons = records.filter { $0["outcome"] as? String == "refused" }.compactMap { $0["reason"] as? String }
        #expect(reasons == ["miss budget", "miss budget"])
    }
}
