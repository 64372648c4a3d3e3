import Foundation
import Histogram
import VaultClient
import VaultCore
import VaultJSON

#if canImport(Glibc)
import Glibc
#endif

/// One benchmark run: a method, how many clients (each its own connection, one call in flight at a time),
/// and how many values (or tokens) per call.
struct BenchScenario: Sendable {
    enum Method: String, Sendable { case tokenize, detokenize }
    let method: Method
    let clients: Int
    let perCall: Int

    var name: String { "\(method.rawValue) \(clients) × \(perCall)" }
    /// The limit's batch size to compare with: the values one group commit can gather.
    var limitBatch: Int { perCall == 1 ? (clients == 1 ? 1 : 64) : 256 }
}

/// What one scenario measured.
struct BenchResult: Sendable {
    let scenario: BenchScenario
    let calls: Int
    let values: Int
    let seconds: Double
    /// Per call, in microseconds.
    let latency: Histogram<UInt64>
    let serverCPU: Double
    let driverCPU: Double

    var valuesPerSecond: Double { Double(values) / seconds }
    func percentileMilliseconds(_ p: Double) -> Double { Double(latency.valueAtPercentile(p)) / 1000 }
}

/// Drives a running server over its socket: closed loops, one connection per client, one call in flight on
/// each, every answer checked.
///
/// The load comes from one thread with plain blocking sockets and `poll(2)`, as wrk does for HTTP, not
/// from `VaultClient`: the driver shares the machine's two cores with the server, and the client library's
/// async machinery cost about 18 µs of CPU per call, a third of what the server spent. What is measured
/// here is the server; the protocol bytes are exactly what any client sends (docs/PROTOCOL.md).
struct BenchDriver {
    /// One socket per server; client `i` talks to server `i % count`, so 64 clients spread evenly.
    let socketPaths: [String]
    let duration: Duration
    /// Every server's process, whose CPU time the result reports (summed).
    let serverPIDs: [Int32]

    /// Tokens kept from the tokenize runs, for detokenize to look up.
    static let keptTokensMax = 200_000

    func run(
        _ scenario: BenchScenario,
        round: Int,
        tokens: [String],
        duration: Duration? = nil
    ) async throws -> (BenchResult, [String]) {
        let load = SocketLoad(
            socketPaths: socketPaths,
            scenario: scenario,
            round: round,
            tokens: tokens,
            duration: duration ?? self.duration,
            serverPIDs: serverPIDs
        )
        // Its own thread: the loop blocks in poll(2), which must not hold one of the cooperative pool's threads.
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try load.run() }) }
            thread.start()
        }
    }

    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

/// The load loop behind `BenchDriver`.
private struct SocketLoad: Sendable {
    let socketPaths: [String]
    let scenario: BenchScenario
    let round: Int
    let tokens: [String]
    let duration: Duration
    let serverPIDs: [Int32]

    /// An answer that takes longer than this fails the run (the server is stuck, not slow).
    static let answerTimeoutMilliseconds: Int32 = 60_000

    func run() throws -> (BenchResult, [String]) {
        var connections: [Connection] = []
        defer { for connection in connections { close(connection.fd) } }
        for client in 0..<scenario.clients {
            connections.append(
                Connection(
                    fd: try Self.connect(socketPaths[client % socketPaths.count]),
                    worker: Worker(scenario: scenario, round: round, client: client, tokens: tokens)
                )
            )
        }
        // One call on every connection (the server's caches warm up, its tasks start) before the clock starts.
        try drive(&connections, until: 0)
        for index in connections.indices {
            connections[index].worker.resetCounts()
        }

        let serverBefore = BenchServer.cpuSeconds(pids: serverPIDs)
        let driverBefore = BenchDriver.ownCPUSeconds()
        let start = Self.nanoseconds()
        let nanos = UInt64(clamping: duration.attoseconds / 1_000_000_000)
        try drive(&connections, until: start + nanos)
        let elapsed = Self.nanoseconds() - start

        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var kept: [String] = []
        for connection in connections {
            latency.add(connection.worker.latency)
            kept += connection.worker.kept.prefix(max(0, BenchDriver.keptTokensMax / scenario.clients))
        }
        let result = BenchResult(
            scenario: scenario,
            calls: connections.reduce(0) { $0 + $1.worker.calls },
            values: connections.reduce(0) { $0 + $1.worker.values },
            seconds: Double(elapsed) / 1e9,
            latency: latency,
            serverCPU: BenchServer.cpuSeconds(pids: serverPIDs) - serverBefore,
            driverCPU: BenchDriver.ownCPUSeconds() - driverBefore
        )
        return (result, kept)
    }

    /// Sends one call on every connection, and a new one after each answer until `deadline` (monotonic
    /// nanoseconds) has passed; returns when every connection's last call is answered.
    private func drive(_ connections: inout [Connection], until deadline: UInt64) throws {
        var polls = connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var waiting = connections.count
        for index in connections.indices {
            try connections[index].send()
        }
        while waiting > 0 {
            let ready = poll(&polls, nfds_t(polls.count), Self.answerTimeoutMilliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else {
                throw VaultError(
                    .internal,
                    ready == 0 ? "the server did not answer within 60 s" : "poll failed (errno \(errno))",
                    hint: "see the server log in the bench folder (--keep)"
                )
            }
            for index in polls.indices where polls[index].revents != 0 {
                polls[index].revents = 0
                guard try connections[index].receive(into: &chunk) else { continue }
                if Self.nanoseconds() < deadline {
                    try connections[index].send()
                } else {
                    polls[index].fd = -1  // poll(2) skips negative descriptors
                    waiting -= 1
                }
            }
        }
    }

    static func connect(_ path: String) throws -> Int32 {
        do {
            return try UnixSocket.connect(path)
        } catch {
            switch error.step {
            case .socket:
                throw VaultError(
                    .internal,
                    "cannot make a socket (errno \(error.code))",
                    hint: "raise the open-files limit"
                )
            case .pathTooLong:
                throw VaultError(
                    .invalidRequest,
                    "the socket path \(path) is too long",
                    hint: "pass a shorter --folder"
                )
            case .connect:
                throw VaultError(
                    .internal,
                    "cannot connect to \(path) (errno \(error.code))",
                    hint: "see the server log in the bench folder (--keep)"
                )
            }
        }
    }

    static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

/// One client's connection and its call in flight.
private struct Connection {
    let fd: Int32
    var worker: Worker
    private var inbox: [UInt8] = []
    private var sentAt: UInt64 = 0

    init(fd: Int32, worker: Worker) {
        self.fd = fd
        self.worker = worker
    }

    mutating func send() throws {
        let line = worker.nextRequest()
        sentAt = SocketLoad.nanoseconds()
        try line.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw VaultError(
                        .internal,
                        "the server closed the connection (errno \(errno))",
                        hint: "see the server log in the bench folder (--keep)"
                    )
                }
                offset += n
            }
        }
    }

    /// Reads what has arrived; true once the answer to the call in flight is complete (and checked).
    mutating func receive(into chunk: inout [UInt8]) throws -> Bool {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return false }
        guard n > 0 else {
            throw VaultError(
                .internal,
                "the server closed the connection with a call in flight",
                hint: "see the server log in the bench folder (--keep)"
            )
        }
        let scanFrom = inbox.count
        inbox.append(contentsOf: chunk[0..<n])
        guard let end = inbox[scanFrom...].firstIndex(of: UInt8(ascii: "\n")) else { return false }
        guard end == inbox.count - 1 else {
            throw VaultError(
                .internal,
                "the server sent more than one answer for one call",
                hint: "a protocol bug: see docs/PROTOCOL.md §2"
            )
        }
        let took = (SocketLoad.nanoseconds() - sentAt) / 1000
        let answer = inbox.withUnsafeBytes { JSONParser.parse(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
        inbox.removeAll(keepingCapacity: true)
        try worker.accept(answer, microseconds: took)
        return true
    }
}

/// One client's calls. Values are 24 bytes of kind `text`, as in limit.c; a single-value client moves to a
/// new subject every 5 values (limit.c's SUBJECT_EVERY), a batch client uses one subject per call.
private struct Worker {
    let scenario: BenchScenario
    let round: Int
    let client: Int
    let tokens: [String]
    private(set) var calls = 0
    private(set) var values = 0
    private(set) var kept: [String] = []
    private(set) var latency = Histogram<UInt64>(
        highestTrackableValue: 60_000_000,
        numberOfSignificantValueDigits: .three
    )
    private var counter = 0
    private var random: UInt64
    private var nextID: Int64 = 1

    init(scenario: BenchScenario, round: Int, client: Int, tokens: [String]) {
        self.scenario = scenario
        self.round = round
        self.client = client
        self.tokens = tokens
        random = 0x9E37_79B9_7F4A_7C15 &* UInt64(client + 1) &+ UInt64(round)
    }

    mutating func resetCounts() {
        calls = 0
        values = 0
        latency.reset()
    }

    /// The next call's request line, newline included.
    mutating func nextRequest() -> [UInt8] {
        var json = JSONWriter(options: .wire, capacity: 128 + scenario.perCall * 40)
        json.beginObject()
        json.member("jsonrpc", "2.0")
        json.member("id", nextID)
        nextID += 1
        switch scenario.method {
        case .tokenize:
            let subject = "r\(round)-c\(client)-s\(scenario.perCall == 1 ? counter / 5 : counter)"
            json.member("method", "tokenize")
            json.key("params")
            json.beginObject()
            json.member("kind", "text")
            json.member("subject", subject)
            json.key("values")
            json.beginArray()
            for _ in 0..<scenario.perCall {
                json.string(Self.value(client: client, counter: counter))
                counter += 1
            }
        case .detokenize:
            json.member("method", "detokenize")
            json.key("params")
            json.beginObject()
            json.member("purpose", "bench")
            json.key("tokens")
            json.beginArray()
            for _ in 0..<scenario.perCall {
                json.string(tokens[Int(next() % UInt64(tokens.count))])
            }
        }
        json.endArray()
        json.endObject()
        json.endObject()
        json.bytes.append(UInt8(ascii: "\n"))
        return json.bytes
    }

    /// Checks one answer: a result with one token (or one revealed item) per value sent.
    mutating func accept(_ answer: JSONValue?, microseconds: UInt64) throws {
        guard let answer, case .object(let fields) = answer else {
            throw VaultError(
                .internal,
                "the server's answer is not a JSON object",
                hint: "a protocol bug: see docs/PROTOCOL.md §2"
            )
        }
        if let error = fields["error"] {
            throw VaultError(
                .internal,
                "the server answered \(scenario.method.rawValue) with error \(error["code"]?.intValue ?? 0): \(error["message"]?.stringValue ?? "?")",
                hint: "see the server log in the bench folder (--keep)"
            )
        }
        switch scenario.method {
        case .tokenize:
            guard case .array(let made)? = fields["result"]?["tokens"], made.count == scenario.perCall else {
                throw Self.protocolBug("tokenize answered without one token per value")
            }
            if kept.count < BenchDriver.keptTokensMax {
                for token in made {
                    guard let token = token.stringValue else {
                        throw Self.protocolBug("tokenize answered a token that is not a string")
                    }
                    kept.append(token)
                }
            }
        case .detokenize:
            guard case .array(let items)? = fields["result"]?["items"], items.count == scenario.perCall else {
                throw Self.protocolBug("detokenize answered without one item per token")
            }
            for item in items where item["value"] == nil {
                throw VaultError(
                    .internal,
                    "detokenize answered \(item["error"]?.stringValue ?? "?") for a token the benchmark made",
                    hint: "see the server log in the bench folder (--keep)"
                )
            }
        }
        latency.record(microseconds)
        calls += 1
        values += scenario.perCall
    }

    /// An answer of the wrong shape: the server broke the protocol's result format (docs/PROTOCOL.md §6).
    private static func protocolBug(_ message: String) -> VaultError {
        VaultError(.internal, message, hint: "a protocol bug: see docs/PROTOCOL.md §6")
    }

    /// 24 bytes: client and counter, padded.
    static func value(client: Int, counter: Int) -> String {
        let body = "v\(client)-\(counter)"
        return body + String(repeating: "x", count: max(0, 24 - body.utf8.count))
    }

    /// xorshift64*: cheap, and no system call per pick.
    private mutating func next() -> UInt64 {
        random ^= random >> 12
        random ^= random << 25
        random ^= random >> 27
        return random &* 2_685_821_657_736_338_717
    }
}
