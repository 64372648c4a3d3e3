import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Many connections at once and connection churn, on a server of its own. Serialized, so the server's
/// open-descriptor count means something.
@Suite(.sharedServer, .serialized, .timeLimit(.minutes(10)))
struct ServerConnectionLoadTests {
    let server: ServerHarness
    init() throws { server = try SharedServer.get() }

    /// Open descriptors of the server process.
    func openDescriptors() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.pid)/fd").count
    }

    @Test func twoThousandConnectionsOpenedAndDroppedLeaveNothingBehind() throws {
        #expect(try server.canariesIntact())
        let baseline = try openDescriptors()
        let request = requestLine(
            id: 1,
            method: "tokenize",
            params: ["kind": "text", "subject": "churn", "values": ["x"]]
        )
        for i in 0..<2000 {
            let connection = try RawConnection(server.socketPath)
            switch i % 4 {
            case 0: break  // connect, close
            case 1: try connection.send(String(request.prefix(30)))  // half a line, close
            case 2: try connection.sendLine(requestLine(id: i, method: "health"))  // ask, never read
            default: try connection.send(Array(repeating: UInt8(ascii: "z"), count: 70_000))  // junk, close
            }
            connection.close()
        }
        #expect(try server.canariesIntact())
        // Every dropped connection is closed on the server's side too (a few may still be closing).
        #expect(
            server.eventually { try openDescriptors() <= baseline + 4 },
            "the server's descriptors return to the baseline"
        )
        #expect(
            try server.call("erase", ["subject": "churn"]).resultObject?["erased"] as? Int == 0,
            "no half line was executed"
        )
    }

    @Test func twoHundredFiftySixConcurrentConnectionsEachGetTheirAnswer() throws {
        var connections: [RawConnection] = []
        for _ in 0..<256 { connections.append(try RawConnection(server.socketPath)) }
        // All 256 are open at once; each sends its request before any answer is read.
        for (i, connection) in connections.enumerated() {
            try connection.sendLine(
                requestLine(
                    id: i,
                    method: "tokenize",
                    params: ["kind": "text", "subject": "conc-\(i % 16)", "values": ["value-\(i)"]]
                )
            )
        }
        var tokens: [String] = []
        for (i, connection) in connections.enumerated() {
            let response = try connection.readObject()
            #expect(response["id"] as? Int == i, "each connection gets its own answer")
            tokens.append((response.resultObject?["tokens"] as? [String])?.first ?? "missing")
        }
        for connection in connections { connection.close() }
        #expect(Set(tokens).count == 256)
        #expect(try server.allRevealPlain(tokens, as: (0..<256).map { "value-\($0)" }))
        #expect(try server.canariesIntact())
    }

    @Test func manyConnectionsEachPipeliningAndHalfClosing() throws {
        var connections: [RawConnection] = []
        for _ in 0..<64 { connections.append(try RawConnection(server.socketPath)) }
        for (i, connection) in connections.enumerated() {
            let lines = (0..<20).map { requestLine(id: i * 100 + $0, method: $0 % 2 == 0 ? "health" : "whoami") + "\n" }
                .joined()
            try connection.send(lines)
            connection.shutdownWrite()
        }
        for (i, connection) in connections.enumerated() {
            let ids = try connection.readUntilClosed().map { (try parseJSON($0) as? [String: Any])?["id"] as? Int }
            #expect(ids == (0..<20).map { i * 100 + $0 })
        }
        #expect(try server.canariesIntact())
    }
}
