import Foundation
import Testing
import VaultClient

/// docs/SCALING.md, runbook step 4: with the keyring in the database, `cvault keys rotate` run by an admin
/// reaches every running server (each polls the keyring's generation every 250 ms), and `rewrap` and
/// `retire` are safe with the servers running: a new data key is wrapped only with the database's active KEK
/// (checked in the write), so after the retire every value still opens on every server.
extension MultiServerTests {
    @Test func aRotationReachesEveryServerAndRewrapAndRetireLeaveEveryValueReadable() async throws {
        try await Self.withCluster { cluster, clients in
            var tokens: [String] = []
            var values: [String] = []
            for (index, client) in clients.enumerated() {
                let value = "before rotation \(index)"
                tokens += try await client.tokenize(kind: "text", subject: "old-\(index)", values: [value])
                values.append(value)
            }

            let rotated = try cluster.cvault(["keys", "rotate"])
            try #require(rotated.status == 0, "keys rotate failed: \(rotated.stderr)")
            for index in 0..<cluster.count {
                let socket = cluster.socketPath(index)
                let deadline = ContinuousClock.now + .seconds(30)
                while try await onThread({ try RPCConnection(socket: socket, timeoutSeconds: 10).activeKEK() }) != 2 {
                    try #require(ContinuousClock.now < deadline, "server \(index) never picked up KEK v2")
                    try await Task.sleep(for: .milliseconds(50))
                }
            }

            // New subjects on every server, while the admin rewraps the old ones and retires the old KEK.
            for (index, client) in clients.enumerated() {
                let value = "after rotation \(index)"
                tokens += try await client.tokenize(kind: "text", subject: "new-\(index)", values: [value])
                values.append(value)
            }
            let rewrapped = try cluster.cvault(["keys", "rewrap"])
            try #require(rewrapped.status == 0, "keys rewrap failed: \(rewrapped.stderr)")
            let retired = try cluster.cvault(["keys", "retire", "1"])
            try #require(retired.status == 0, "keys retire failed: \(retired.stderr)")

            // Every server, still the same processes, reveals every value: none was left under the retired KEK.
            for client in clients {
                #expect(
                    await Self.detokenize(client, tokens) == .items(values.map { .value($0, reveal: "plain") }),
                    "\(client.socketPath)"
                )
            }
            #expect(cluster.allRunning)
            let verified = try cluster.cvault(["audit", "verify"])
            #expect(verified.status == 0, "audit verify failed: \(verified.stderr)")
        }
    }
}
