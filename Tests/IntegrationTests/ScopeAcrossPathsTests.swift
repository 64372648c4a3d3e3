import Foundation
import Testing

/// One scope rule on both paths (docs/PROTOCOL.md §6, *scope*): a scope the CLI accepts offline, on the
/// vault's files, is one the socket accepts, and the deterministic token it made there is the one the socket
/// gives for the same value; a scope one path refuses, the other refuses too, without echoing it.
@Suite struct ScopeAcrossPathsTests {
    static let scopes = [
        "tenant-a", "crm-2", String(repeating: "s", count: 64),
        // Accepted offline and refused by the socket before the scope had one rule:
        "Tenant.A", "tenant a", String(repeating: "s", count: 100),
    ]

    @Test func aScopeMadeOfflineWorksOverTheSocket() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        let value = "Ada Lovelace"
        // `name` is deterministic in the standard policy: the token depends on the scope alone.
        var offline: [String: String] = [:]
        for scope in Self.scopes {
            let run = try server.cvault(
                [
                    "tokenize", "--policy", server.policyPath, "--kind", "name", "--subject", "cust-offline",
                    "--scope", scope, value,
                ]
            )
            if run.status == 0 {
                offline[scope] = run.stdout.split(separator: "\n").first.map(String.init)
            } else {
                #expect(run.stderr.contains("a scope must be"), "\(scope.utf8.count)-byte scope: \(run.stderr)")
                #expect(!run.stderr.contains(scope), "the refused scope is echoed")
            }
        }
        try server.start()
        for scope in Self.scopes {
            let response = try server.call(
                "tokenize",
                ["kind": "name", "subject": "cust-online", "values": [value], "scope": scope]
            )
            let online = (response.resultObject?["tokens"] as? [String])?.first
            let made = offline[scope]
            #expect((made != nil) == (online != nil), "\(scope.utf8.count)-byte scope: one path accepts it, not both")
            if let made, let online {
                #expect(made == online, "the socket gives the token made offline")
            } else if online == nil {
                #expect(response.errorCode == -32602)
                #expect(response.errorData?["field"] as? String == "scope")
            }
        }
        #expect(offline.count == 3, "the valid scopes work offline")
    }
}
