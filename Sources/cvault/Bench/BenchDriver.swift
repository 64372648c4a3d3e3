#if canImport(Glibc)
import Glibc
#endif
import Histogram
import VaultClient
import VaultCore

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

/// Drives a running server through `VaultClient`: closed loops, one task and one connection per client.
struct BenchDriver {
    let socketPath: String
    let duration: Duration
    let serverPID: Int32

    /// Tokens kept from the tokenize runs, for detokenize to look up.
    static let keptTokensMax = 200_000

    func run(_ scenario: BenchScenario, round: Int, tokens: [String], duration: Duration? = nil) async throws -> (BenchResult, [String]) {
        let clients = (0..<scenario.clients).map { _ in VaultClient(socketPath: socketPath, timeout: .seconds(60)) }
        // Connect every client (and warm the server's caches) before the clock starts.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, client) in clients.enumerated() {
                group.addTask {
                    var worker = Worker(scenario: scenario, round: round, client: index, tokens: tokens)
                    _ = try await worker.call(client)
                }
            }
            try await group.waitForAll()
        }

        let serverBefore = BenchServer.cpuSeconds(pid: serverPID)
        let driverBefore = Self.ownCPUSeconds()
        let start = ContinuousClock.now
        let deadline = start + (duration ?? self.duration)
        let outcomes = try await withThrowingTaskGroup(of: Worker.self) { group in
            for (index, client) in clients.enumerated() {
                group.addTask {
                    var worker = Worker(scenario: scenario, round: round, client: index, tokens: tokens)
                    try await worker.loop(client, until: deadline)
                    return worker
                }
            }
            var all: [Worker] = []
            for try await worker in group { all.append(worker) }
            return all
        }
        let elapsed = ContinuousClock.now - start
        for client in clients { await client.close() }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var kept: [String] = []
        for worker in outcomes {
            latency.add(worker.latency)
            kept += worker.kept.prefix(max(0, Self.keptTokensMax / scenario.clients))
        }
        let result = BenchResult(
            scenario: scenario, calls: outcomes.reduce(0) { $0 + $1.calls }, values: outcomes.reduce(0) { $0 + $1.values },
            seconds: seconds, latency: latency, serverCPU: BenchServer.cpuSeconds(pid: serverPID) - serverBefore,
            driverCPU: Self.ownCPUSeconds() - driverBefore)
        return (result, kept)
    }

    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

/// One client's loop. Values are 24 bytes of kind `text`, as in limit.c; a single-value client moves to a
/// new subject every 5 values (limit.c's SUBJECT_EVERY), a batch client uses one subject per call.
private struct Worker: Sendable {
    let scenario: BenchScenario
    let round: Int
    let client: Int
    let tokens: [String]
    var calls = 0
    var values = 0
    var kept: [String] = []
    var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    private var counter = 0
    private var random: UInt64

    init(scenario: BenchScenario, round: Int, client: Int, tokens: [String]) {
        self.scenario = scenario
        self.round = round
        self.client = client
        self.tokens = tokens
        random = 0x9E37_79B9_7F4A_7C15 &* UInt64(client + 1) &+ UInt64(round)
    }

    mutating func loop(_ vault: VaultClient, until deadline: ContinuousClock.Instant) async throws {
        let clock = ContinuousClock()
        while clock.now < deadline {
            let started = clock.now
            let count = try await call(vault)
            let took = clock.now - started
            latency.record(UInt64(took.components.seconds) * 1_000_000 + UInt64(took.components.attoseconds / 1_000_000_000_000))
            calls += 1
            values += count
        }
    }

    mutating func call(_ vault: VaultClient) async throws -> Int {
        switch scenario.method {
        case .tokenize:
            let subject: String
            var batch: [String] = []
            batch.reserveCapacity(scenario.perCall)
            if scenario.perCall == 1 {
                subject = "r\(round)-c\(client)-s\(counter / 5)"
            } else {
                subject = "r\(round)-c\(client)-s\(counter)"
            }
            for _ in 0..<scenario.perCall {
                batch.append(Self.value(client: client, counter: counter))
                counter += 1
            }
            let made = try await vault.tokenize(kind: .text, subject: subject, values: batch)
            if kept.count < BenchDriver.keptTokensMax { kept += made }
            return made.count
        case .detokenize:
            var batch: [String] = []
            batch.reserveCapacity(scenario.perCall)
            for _ in 0..<scenario.perCall { batch.append(tokens[Int(next() % UInt64(tokens.count))]) }
            let items = try await vault.detokenize(tokens: batch, purpose: "bench")
            for item in items where item.value == nil {
                throw VaultError(.internal, "detokenize answered \(item.error ?? "?") for a token the benchmark made",
                                 hint: "see the server log in the bench folder")
            }
            return items.count
        }
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
