import Foundation
import Testing

/// Every policy load is recorded with the SHA-256 of the policy file's bytes, equal to `sha256sum FILE`: at
/// server start, on `cvault policy reload` (SIGHUP), and by offline commands that load a policy.
@Suite struct PolicyHashAuditTests {
    static func sha256sum(_ path: String) throws -> String {
        let result = try runProcess(
            "/usr/bin/sha256sum",
            [path],
            environment: ["PATH": "/usr/bin:/bin"],
            directory: "/tmp"
        )
        return String(try #require(result.stdout.split(separator: " ").first))
    }

    /// The hashes named by `policy_load` records, oldest first.
    static func recordedHashes(_ server: ServerHarness) throws -> [String] {
        let export = try server.cvault(["audit", "export", "--event", "policy_load"])
        return export.stdout.split(separator: "\n").compactMap { line in
            line.firstMatch(of: #/"detail":"sha256 ([0-9a-f]{64}) of /#).map { String($0.output.1) }
        }
    }

    @Test func theHashOfTheFileIsRecordedOnEveryLoad() async throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        // Each server process records its own loads.
        let processes = server.servers.processes
        let first = try Self.sha256sum(server.policyPath)
        #expect(try Self.recordedHashes(server) == Array(repeating: first, count: processes), "server start")

        // A changed policy, reloaded through `cvault policy reload` on each server's host.
        try server.writePolicy(ServerPolicies.standard + "# reviewed\n")
        let second = try Self.sha256sum(server.policyPath)
        #expect(second != first)
        for reload in try server.reloadPolicy() {
            #expect(reload.status == 0, "\(reload.stderr)")
            #expect(reload.stdout.contains("(sha256 \(second))"))
        }
        let reloaded = Array(repeating: first, count: processes) + Array(repeating: second, count: processes)
        #expect(server.eventually { try Self.recordedHashes(server) == reloaded }, "SIGHUP from policy reload")

        // An offline command loads the policy too (here beside the running server, on the same vault).
        let offline = try server.cvault([
            "tokenize", "--policy", server.policyPath, "--kind", "name", "--subject", "cust-1", "Ada",
        ])
        #expect(offline.status == 0, "\(offline.stderr)")
        #expect(try Self.recordedHashes(server) == reloaded + [second], "offline tokenize")
    }
}
