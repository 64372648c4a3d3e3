import Dispatch
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// kill -9 in the middle of concurrent tokenize load: every token the server acknowledged before it died
/// must detokenize to its value after a restart (an answer means the write was durable).
@Suite(.timeLimit(.minutes(10)))
struct ServerCrashTests {
    @Test func killNineDuringConcurrentTokenizeLoseNoAcknowledgedToken() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()

        let acknowledged = Mutex<[(token: String, value: String)]>([])
        let stop = Atomic<Bool>(false)
        let clients = 6
        let done = DispatchSemaphore(value: 0)
        let socketPath = server.socketPath
        for client in 0..<clients {
            let thread = Thread {
                defer { done.signal() }
                guard let connection = try? RawConnection(socketPath, timeout: 30) else { return }
                var n = 0
                // Until the server dies (or a generous cap): one tokenize at a time, or a small pipelined
                // burst, each answer recorded as acknowledged.
                while !stop.load(ordering: .relaxed), n < 20_000 {
                    let burst = 1 + n % 4
                    let values = (0..<burst).map { "crash-\(client)-\(n + $0)" }
                    let lines = values.enumerated().map { i, value in
                        requestLine(
                            id: n + i,
                            method: "tokenize",
                            params: ["kind": "text", "subject": "crash-\(client)-\((n + i) % 7)", "values": [value]]
                        ) + "\n"
                    }.joined()
                    guard (try? connection.send(lines)) == true else { return }
                    for value in values {
                        guard let response = try? connection.readObject(),
                            let token = (response.resultObject?["tokens"] as? [String])?.first
                        else { return }
                        acknowledged.withLock { $0.append((token, value)) }
                    }
                    n += burst
                }
            }
            thread.start()
        }

        let enough = server.eventually(timeout: 120) { acknowledged.withLock { $0.count } >= 400 }
        #expect(enough, "the load got going")
        try server.killHard()
        stop.store(true, ordering: .relaxed)
        for _ in 0..<clients {
            #expect(done.wait(timeout: .now() + 60) == .success, "every client noticed the server was gone")
        }

        let acked = acknowledged.withLock { $0 }
        #expect(acked.count >= 400)
        let audit = try server.cvault(["audit", "verify"])
        #expect(audit.status == 0, "the audit chain survives kill -9: \(audit.stderr)")
        try server.start()
        #expect(
            try server.allRevealPlain(acked.map(\.token), as: acked.map(\.value)),
            "every acknowledged token survived kill -9"
        )
    }
}
