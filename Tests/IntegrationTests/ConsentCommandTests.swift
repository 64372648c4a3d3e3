import Foundation
import Testing

/// `cvault consent grant|withdraw|list` and `cvault subject restrict|unrestrict`, offline on the vault's files
/// and online through `--socket`: the same answers either way, and the decisions enforced and audited.
@Suite(.serialized) struct ConsentCommandTests {
    static let policy = RightsServerPolicies.story(
        consentRequired: ["marketing", "digest"],
        operatorRoles: ["service", "preferences", "dpo"]
    )

    /// The CLI on `server`'s vault: offline (`--policy`) or online (`--socket`).
    static func run(_ server: ServerHarness, online: Bool, _ arguments: [String]) throws -> ProcessResult {
        let side = online ? ["--socket", server.socketPath] : ["--policy", server.policyPath]
        return try server.cvault(arguments + side)
    }

    /// The same session on both sides prints the same, but for the times.
    static func session(_ server: ServerHarness, online: Bool, subject: String) throws -> [String] {
        var out: [String] = []
        func step(_ arguments: [String], status: Int32 = 0) throws {
            let result = try run(server, online: online, arguments)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            out.append(result.stdout + result.stderr)
        }
        try step([
            "consent", "grant", "--subject", subject, "--purposes", "marketing,digest", "--source", "signup-form-v3",
        ])
        try step(["consent", "grant", "--subject", subject, "--purposes", "surveys", "--source", "app", "--json"])
        try step(["consent", "withdraw", "--subject", subject, "--purposes", "digest", "--source", "email-footer"])
        try step(["consent", "list", "--subject", subject])
        try step(["subject", "restrict", "--subject", subject, "--reason", "accuracy-contested", "--json"])
        try step(["subject", "unrestrict", "--subject", subject])
        try step(["subject", "unrestrict", "--subject", subject, "--json"])
        try step(["consent", "withdraw", "--subject", subject, "--all", "--source", "email-footer", "--json"])
        try step(
            ["consent", "grant", "--subject", subject, "--purposes", "marketing", "--source", "bad source"],
            status: 1
        )
        try step(["consent", "withdraw", "--subject", subject, "--source", "x"], status: 64)
        try step(["consent", "list", "--subject", subject, "--json"])
        return out.map {
            $0.replacingOccurrences(of: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"#, with: "T", options: .regularExpression)
        }
    }

    @Test func offlineAndOnlineSessionsPrintTheSame() throws {
        let server = try ServerHarness(policy: Self.policy)
        defer { server.destroy() }
        let offline = try Self.session(server, online: false, subject: "cust-1")
        try server.start()
        let online = try Self.session(server, online: true, subject: "cust-2")
        #expect(offline == online)
        #expect(
            Array(offline.prefix(8)) == [
                "granted digest\ngranted marketing\n",
                "{\"granted\":[\"surveys\"],\"not_required\":[\"surveys\"]}\n"
                    + "cvault: warning: purpose surveys is not required by the current policy (recorded all the same; "
                    + "check its spelling against consent_required)\n",
                "withdrawn digest\n",
                "digest withdrawn since T source email-footer\nmarketing granted since T source signup-form-v3\n"
                    + "surveys granted since T source app (not required by the current policy)\nhistory:\n"
                    + "T granted digest source signup-form-v3\nT granted marketing source signup-form-v3\n"
                    + "T granted surveys source app\nT withdrawn digest source email-footer\n",
                "{\"reason\":\"accuracy-contested\",\"restricted\":true,\"since\":\"T\"}\n",
                "unrestricted\n",
                "{\"restricted\":false,\"was_restricted\":false}\n",
                "{\"withdrawn\":[\"digest\",\"marketing\",\"surveys\"]}\n",
            ]
        )
        #expect(offline[8].contains("cvault: error: a consent source must be 1 to 64 characters"))
        #expect(offline[9].contains("give either --purposes or --all"))
        let listed = try #require(try parseJSON(Array(offline[10].utf8)) as? [String: Any])
        let current = listed["current"] as? [[String: Any]]
        #expect(current?.map { $0["purpose"] as? String } == ["digest", "marketing", "surveys"])
        #expect(current?.map { $0["state"] as? String } == ["withdrawn", "withdrawn", "withdrawn"])
        #expect(current?.map { $0["required"] as? Bool } == [true, true, false])
        #expect((listed["history"] as? [[String: Any]])?.map { $0["state"] as? String }.count == 7)
    }

    @Test func aRestrictionSetOfflineHoldsForTheServerAndIsAudited() throws {
        let server = try ServerHarness(policy: Self.policy)
        defer { server.destroy() }
        let tokens = try server.cvault([
            "tokenize", "--kind", "email", "--subject", "cust-9", "--policy", server.policyPath, "ada@example.com",
        ])
        #expect(tokens.status == 0, "\(tokens.stderr)")
        let token = tokens.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let restricted = try Self.run(
            server,
            online: false,
            ["subject", "restrict", "--subject", "cust-9", "--reason", "objection"]
        )
        #expect(restricted.status == 0 && restricted.stdout.hasPrefix("restricted since "), "\(restricted.stderr)")
        try server.start()
        #expect(try server.detokenize([token], purpose: "view") == [["error": "restricted"]])
        #expect(
            try server.detokenize([token], purpose: "legal-hold") == [["value": "ada@example.com", "reveal": "plain"]]
        )
        let lifted = try Self.run(server, online: true, ["subject", "unrestrict", "--subject", "cust-9"])
        #expect(lifted.status == 0 && lifted.stdout == "unrestricted\n")
        #expect(try server.detokenize([token], purpose: "view") == [["value": "ada@example.com", "reveal": "plain"]])

        let export = try server.cvault(["audit", "export"])
        let events = export.stdout.split(separator: "\n").compactMap {
            ((try? parseJSON(Array($0.utf8))) as? [String: Any])?["event"] as? String
        }
        #expect(
            events.filter { $0 == "subject_restrict" || $0 == "subject_unrestrict" } == [
                "subject_restrict", "subject_unrestrict",
            ]
        )
    }
}
