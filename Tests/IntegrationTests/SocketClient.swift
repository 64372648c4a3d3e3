import Foundation
import Synchronization
import VaultClient

/// A blocking JSON-RPC client on a Unix socket, for one thread: newline-delimited JSON as in
/// docs/PROTOCOL.md. Every send and receive has a timeout, so a stuck server fails a test instead of
/// hanging it. Use it only from a thread of its own (`onThread`), never on Swift's cooperative pool.
final class RPCConnection {
    private let connection: RawConnection
    private var nextID = 1

    init(socket path: String, timeoutSeconds: Int = 60) throws {
        connection = try RawConnection(path, timeout: timeoutSeconds)
        connection.readChunkSize = 256 * 1024
    }

    /// One request; returns its `result` object, or throws naming the error code (never its data).
    func call(_ method: String, _ params: [String: Any] = [:]) throws -> [String: Any] {
        let responses = try batch([(method, params)])
        return try Self.result(responses[0])
    }

    /// Several requests on one line (a JSON-RPC batch); returns the responses in order.
    func batch(_ requests: [(method: String, params: [String: Any])]) throws -> [[String: Any]] {
        let first = nextID
        nextID += requests.count
        let objects: [[String: Any]] = requests.enumerated().map { i, request in
            ["jsonrpc": "2.0", "id": first + i, "method": request.method, "params": request.params]
        }
        let line = try JSONSerialization.data(withJSONObject: requests.count == 1 ? objects[0] : objects)
        guard try connection.send(Array(line) + [0x0A]) else { throw HarnessError("the server closed the connection") }
        guard let answerLine = try connection.readLine() else {
            throw HarnessError("the server closed the connection")
        }
        let answer = try JSONSerialization.jsonObject(with: Data(answerLine))
        let responses: [[String: Any]]
        if requests.count == 1, let single = answer as? [String: Any] {
            responses = [single]
        } else if let array = answer as? [[String: Any]] {
            responses = array
        } else {
            throw HarnessError("response is not a JSON object or array")
        }
        guard responses.count == requests.count else {
            throw HarnessError("\(responses.count) responses for \(requests.count) requests")
        }
        for (i, response) in responses.enumerated() where (response["id"] as? Int) != first + i {
            throw HarnessError("response \(i) answers another id")
        }
        return responses
    }

    static func result(_ response: [String: Any]) throws -> [String: Any] {
        if let result = response["result"] as? [String: Any] { return result }
        let error = response["error"] as? [String: Any]
        throw HarnessError("JSON-RPC error \(error?["code"] as? Int ?? 0)")
    }

    // MARK: Tokenize and detokenize

    func tokenize(kind: String, subject: String, values: [String]) throws -> [String] {
        let tokens = try call("tokenize", ["kind": kind, "subject": subject, "values": values])["tokens"] as? [String]
        guard let tokens, tokens.count == values.count else {
            throw HarnessError("tokenize returned no or too few tokens")
        }
        return tokens
    }

    /// The revealed values in order; nil for an item that came back as an error (`not_found`, …).
    func detokenize(_ tokens: [String], purpose: String = "demo") throws -> [String?] {
        let items = try call("detokenize", ["tokens": tokens, "purpose": purpose])["items"] as? [[String: Any]]
        guard let items, items.count == tokens.count else {
            throw HarnessError("detokenize returned no or too few items")
        }
        return items.map { $0["value"] as? String }
    }

    /// `health`'s `active_kek`.
    func activeKEK() throws -> Int? { try call("health")["active_kek"] as? Int }
}

/// Runs blocking work (sockets, waiting for processes) on a thread of its own, so it never ties up one of
/// the two cooperative threads the async tests share.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// Client threads that keep calling the server until stopped, each on its own connection, counting every
/// request and every failure (an error answer, a wrong or missing value, a broken connection).
final class Traffic: Sendable {
    /// One iteration: given the thread number, the iteration number and the connection, make some calls and
    /// return how many requests were made; throw on any failure (without a value in the message).
    typealias Work = @Sendable (_ thread: Int, _ iteration: Int, _ connection: RPCConnection) throws -> Int

    private let requestCount = Atomic<Int>(0)
    private let failureCount = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Int>(0)
    private let problems = Mutex<[String]>([])
    private let threads: Int

    init(socket: String, threads: Int, pause: Duration = .milliseconds(5), work: @escaping Work) {
        self.threads = threads
        for t in 0..<threads {
            let thread = Thread { [self] in
                var connection = try? RPCConnection(socket: socket)
                var iteration = 0
                while !stopping.load(ordering: .acquiring) {
                    do {
                        guard let live = connection else { throw HarnessError("not connected") }
                        let made = try work(t, iteration, live)
                        requestCount.add(made, ordering: .relaxed)
                    } catch {
                        failureCount.add(1, ordering: .relaxed)
                        problems.withLock { if $0.count < 10 { $0.append("thread \(t): \(error)") } }
                        connection = try? RPCConnection(socket: socket)
                    }
                    iteration += 1
                    Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18)
                }
                finished.add(1, ordering: .releasing)
            }
            thread.start()
        }
    }

    var requests: Int { requestCount.load(ordering: .relaxed) }
    var failures: Int { failureCount.load(ordering: .relaxed) }
    var firstProblems: [String] { problems.withLock { $0 } }

    /// Stops every thread and waits (at most `timeout`) for them to finish their current call.
    func stop(timeout: Duration = .seconds(90)) async throws {
        stopping.store(true, ordering: .releasing)
        let deadline = ContinuousClock.now + timeout
        while finished.load(ordering: .acquiring) < threads {
            guard ContinuousClock.now < deadline else {
                throw HarnessError("traffic threads did not stop within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
