import Foundation
import Synchronization
import Testing
import VaultCore
import VaultTestSupport

/// One real vault of 100,000 values across 10,000 subjects, filled through a running `cvault serve`, shared by
/// the key lifecycle tests (`KeyLifecycleTests`, serialized). Built once by the `.largeVault` suite trait.
///
/// Values are made from a random per-run salt, so every value can be recomputed from its position and none
/// has to be kept; tokens are kept in position order. Nothing here is ever printed.
final class LargeVault: Sendable {
    static let subjects = 10_000
    static let valuesPerSubject = 10
    static let sampleSize = 2_000
    /// Client connections filling the vault, and tokenize requests per line (10 values each: 250 values a line).
    static let loaders = 8
    static let requestsPerLine = 25

    @TaskLocal static var current: LargeVault?

    let fixture: VaultFixture
    let server: ServerProcess
    let salt: String
    /// tokens[i] stands for value(i): subject i / 10, value i % 10.
    let tokens: [String]
    /// Positions of the sample checked after each step.
    let sample: [Int]
    private let passphrase: Mutex<String>
    private let operations = Mutex<[String: Int]>([:])

    var database: String { fixture.database }
    var keyring: String { fixture.keyring }
    var socket: String { server.socket }

    static func subject(_ i: Int) -> String { "cust-\(i)" }
    func value(_ position: Int) -> String {
        "\(salt) value \(position / Self.valuesPerSubject).\(position % Self.valuesPerSubject)"
    }

    private init(fixture: VaultFixture, server: ServerProcess, salt: String, tokens: [String]) {
        self.fixture = fixture
        self.server = server
        self.salt = salt
        self.tokens = tokens
        self.sample = Array(tokens.indices.shuffled().prefix(Self.sampleSize)).sorted()
        self.passphrase = Mutex(fixture.passphrase)
    }

    // MARK: Building and removing

    /// `cvault init`, `cvault serve`, then 10,000 subjects × 10 values tokenized over `loaders` connections.
    static func build() async throws -> LargeVault {
        let root = try makeTemporaryFolder(prefix: "cvault-large")
        do {
            let fixture = VaultFixture(root: root, passphrase: "large-vault-" + randomHex(16))
            try fixture.writePolicy(VaultFixture.fullAccessPolicy())
            try await fixture.initialize()
            let server = try await ServerProcess.start(
                environment: fixture.environment,
                folder: root,
                socket: root + "/s.sock"
            )
            let salt = randomHex(8)
            let socket = server.socket
            let parts = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
                for loader in 0..<loaders {
                    group.addTask {
                        (loader, try await onThread { try load(part: loader, salt: salt, socket: socket) })
                    }
                }
                var parts = [[String]](repeating: [], count: loaders)
                for try await (loader, tokens) in group { parts[loader] = tokens }
                return parts
            }
            // Reassemble position order: loader k took subjects k, k + loaders, k + 2·loaders, …
            var tokens = [String](repeating: "", count: subjects * valuesPerSubject)
            for (loader, part) in parts.enumerated() {
                for (n, subjectIndex) in stride(from: loader, to: subjects, by: loaders).enumerated() {
                    for v in 0..<valuesPerSubject {
                        tokens[subjectIndex * valuesPerSubject + v] = part[n * valuesPerSubject + v]
                    }
                }
            }
            return LargeVault(fixture: fixture, server: server, salt: salt, tokens: tokens)
        } catch {
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
    }

    /// One loader's share: its subjects in order, 10 values each, `requestsPerLine` tokenize calls a line.
    private static func load(part: Int, salt: String, socket: String) throws -> [String] {
        let connection = try RPCConnection(socket: socket)
        let mine = Array(stride(from: part, to: subjects, by: loaders))
        var tokens: [String] = []
        tokens.reserveCapacity(mine.count * valuesPerSubject)
        for start in stride(from: 0, to: mine.count, by: requestsPerLine) {
            let requests = mine[start..<min(start + requestsPerLine, mine.count)].map { s in
                (
                    method: "tokenize",
                    params: [
                        "kind": "text", "subject": subject(s),
                        "values": (0..<valuesPerSubject).map { "\(salt) value \(s).\($0)" },
                    ] as [String: Any]
                )
            }
            for response in try connection.batch(requests) {
                guard let got = try RPCConnection.result(response)["tokens"] as? [String], got.count == valuesPerSubject
                else {
                    throw HarnessError("a tokenize call returned the wrong number of tokens")
                }
                tokens += got
            }
        }
        return tokens
    }

    func tearDown() async {
        await server.stop()
        try? FileManager.default.removeItem(atPath: fixture.root)
    }

    // MARK: Running cvault against it

    var currentPassphrase: String { passphrase.withLock { $0 } }
    func passphraseChanged(to new: String) { passphrase.withLock { $0 = new } }

    /// The vault's environment with the passphrase in force now.
    var environment: [String: String] {
        var env = fixture.environment
        env["CVAULT_PASSPHRASE"] = currentPassphrase
        return env
    }

    func cvault(_ arguments: String..., environment extra: [String: String?] = [:]) async throws -> CVaultRun {
        var changes: [String: String?] = ["CVAULT_PASSPHRASE": currentPassphrase]
        for (name, value) in extra { changes[name] = value }
        return try await fixture.cvault(arguments, environment: changes)
    }

    /// Starts `cvault ARGUMENTS` without waiting for it (to kill it half-way).
    func background(_ arguments: [String], environment extra: [String: String] = [:]) throws -> BackgroundCVault {
        var env = environment
        env.merge(extra) { _, new in new }
        return try BackgroundCVault(arguments, environment: env, folder: fixture.root, name: "bg-\(randomHex(4))")
    }

    /// Key operations that completed or were refused, by audit event and outcome ("key_rotate ok"), for the
    /// audit test to find again.
    func record(_ event: String, _ outcome: String = "ok") {
        operations.withLock { $0["\(event) \(outcome)", default: 0] += 1 }
    }
    var recorded: [String: Int] { operations.withLock { $0 } }

    // MARK: Looking

    /// `cvault keys list --json`: per KEK version its state and data key count; token key states.
    func keys() async throws -> KeyListing {
        let run = try await cvault("keys", "list", "--json")
        try #require(run.status == 0, "keys list failed: \(run.errorLines)")
        return try KeyListing(json: run.stdout)
    }

    /// A count straight from the database (read-only sqlite3), for watching a rewrap from outside.
    func count(_ sql: String) throws -> Int {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = ["-readonly", "-batch", database, sql]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try launch(process)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let n = Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            throw HarnessError("sqlite3 count failed (status \(process.terminationStatus))")
        }
        return n
    }

    /// Detokenizes `positions` through the server (1,000 a call) and returns how many came back wrong or
    /// missing. Values are compared here and never shown.
    func wrongValues(at positions: [Int], connections: Int = 1) async throws -> Int {
        let chunks = stride(from: 0, to: positions.count, by: 1_000).map {
            Array(positions[$0..<min($0 + 1_000, positions.count)])
        }
        let socket = self.socket
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for lane in 0..<max(1, min(connections, chunks.count)) {
                let mine = stride(from: lane, to: chunks.count, by: max(1, connections)).map { chunks[$0] }
                group.addTask {
                    try await onThread {
                        let connection = try RPCConnection(socket: socket)
                        var wrong = 0
                        for chunk in mine {
                            let values = try connection.detokenize(chunk.map { self.tokens[$0] })
                            wrong += zip(chunk, values).filter { self.value($0.0) != $0.1 }.count
                        }
                        return wrong
                    }
                }
            }
            return try await group.reduce(0, +)
        }
    }

    /// Client threads that each tokenize a new subject's values and detokenize them and a slice of the
    /// sample, comparing every value. `tag` keeps subjects of different calls apart.
    func startTraffic(threads: Int = 3, tag: String) -> Traffic {
        let sample = self.sample
        let salt = self.salt
        return Traffic(socket: socket, threads: threads, pause: .milliseconds(10)) { thread, iteration, connection in
            let subject = "live-\(tag)-\(thread)-\(iteration)"
            let values = (0..<4).map { "\(salt) live \(tag) \(thread).\(iteration).\($0)" }
            let fresh = try connection.tokenize(kind: "text", subject: subject, values: values)
            let old = (0..<16).map { sample[(iteration * 16 + $0 + thread * 500) % sample.count] }
            let revealed = try connection.detokenize(fresh + old.map { self.tokens[$0] })
            let expected = values + old.map { self.value($0) }
            let wrong = zip(expected, revealed).filter { $0.0 != $0.1 }.count
            if wrong > 0 { throw HarnessError("\(wrong) of \(expected.count) values came back wrong or missing") }
            return 2
        }
    }

    /// Waits (bounded) until the traffic has made `more` requests beyond what it had made so far.
    static func waitForProgress(_ traffic: Traffic, more: Int, timeout: Duration = .seconds(60)) async throws {
        let target = traffic.requests + more
        let deadline = ContinuousClock.now + timeout
        while traffic.requests < target {
            guard ContinuousClock.now < deadline else {
                throw HarnessError("traffic made no progress within \(timeout)")
            }
            guard traffic.failures == 0 else { return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// `cvault keys list --json`, parsed.
struct KeyListing {
    struct KEK {
        var version: Int
        var state: String
        var dataKeys: Int
    }
    var keks: [KEK]
    var tokenKeys: [(version: Int, state: String)]

    init(json: String) throws {
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let keks = object["keks"] as? [[String: Any]], let tokenKeys = object["token_keys"] as? [[String: Any]]
        else {
            throw HarnessError("keys list --json printed something else")
        }
        self.keks = try keks.map { kek in
            guard let v = kek["version"] as? Int, let s = kek["state"] as? String, let n = kek["data_keys"] as? Int
            else {
                throw HarnessError("a KEK entry lacks version, state or data_keys")
            }
            return KEK(version: v, state: s, dataKeys: n)
        }
        self.tokenKeys = tokenKeys.compactMap { key in
            guard let v = key["version"] as? Int, let s = key["state"] as? String else { return nil }
            return (v, s)
        }
    }

    var active: Int { keks.first { $0.state == "active" }?.version ?? 0 }
    func dataKeys(_ version: Int) -> Int { keks.first { $0.version == version }?.dataKeys ?? 0 }
    func state(_ version: Int) -> String? { keks.first { $0.version == version }?.state }
    /// Data keys under any version but the active one.
    var dataKeysUnderOlderVersions: Int { keks.filter { $0.state != "active" }.map(\.dataKeys).reduce(0, +) }
    var activeTokenKey: Int { tokenKeys.first { $0.state == "active" }?.version ?? 0 }
}

/// Builds the large vault once for the suite it marks, and removes it (server stopped) afterwards.
struct LargeVaultTrait: SuiteTrait, TestScoping {
    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let vault = try await LargeVault.build()
        do {
            try await LargeVault.$current.withValue(vault) { try await function() }
        } catch {
            await vault.tearDown()
            throw error
        }
        await vault.tearDown()
    }
}

extension Trait where Self == LargeVaultTrait {
    static var largeVault: LargeVaultTrait { LargeVaultTrait() }
}
