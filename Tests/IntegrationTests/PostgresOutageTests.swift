import Foundation
import Synchronization
import Testing
import VaultClient
import VaultTestSupport

/// docs/SCALING.md, "When the database goes away": PostgreSQL killed under load and brought back. The test
/// runs a cluster of its own (`Tools/postgres`), since it must stop it; the server on it is never restarted.
///
/// What must hold: while the database is gone, calls fail with `-32006` `store unavailable` and nothing is
/// revealed without its audit record; the same server process serves again once the database is back; and
/// every token a client saw acknowledged, before or after the outage, is there and reveals its value.
@Suite("PostgreSQL outage", .serialized) struct PostgresOutageTests {
    static let tool = ServerBinaries.packageRoot + "/Tools/postgres"

    /// A private cluster for one test, in a folder of its own under /tmp (the server's user, when the tests run
    /// as root, must be able to reach it), stopped and removed afterwards.
    struct Cluster {
        let folder: String
        let uri: String

        static func with<T>(_ body: (Cluster) async throws -> T) async throws -> T {
            let folder = "/tmp/cvault-outage-" + randomHex(6)
            defer {
                _ = try? Cluster.tool(["stop", folder, "--immediate"])
                try? FileManager.default.removeItem(atPath: folder)
            }
            try Cluster.tool(["start", folder])
            let env = try String(contentsOfFile: folder + "/env", encoding: .utf8)
            let line = try #require(
                env.split(separator: "\n").first { $0.hasPrefix("CVAULT_TEST_POSTGRES=") },
                "Tools/postgres wrote no URI"
            )
            return try await body(Cluster(folder: folder, uri: String(line.dropFirst("CVAULT_TEST_POSTGRES=".count))))
        }

        /// Runs `Tools/postgres` to its end. `waitUntilExit`, not a poll of `isRunning`: the script's child
        /// (the postmaster, started by pg_ctl) outlives it, and a poll from a test task never saw the script
        /// reaped.
        @discardableResult
        static func tool(_ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [PostgresOutageTests.tool] + arguments
            process.environment = ["PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"]
            process.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
            let log = "/tmp/.cvault-outage-\(randomHex(6)).log"
            defer { unlink(log) }
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try launch(process)
            process.waitUntilExit()
            try? handle.close()
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            try #require(
                process.terminationStatus == 0,
                "Tools/postgres \(arguments.first ?? "") failed: \(output)"
            )
            return output
        }

        /// Every process of the cluster quits at once, with no checkpoint: what a crash of the database is.
        func kill() throws { try Cluster.tool(["stop", folder, "--immediate"]) }

        /// Starts it again; PostgreSQL recovers from its WAL first.
        func start() throws { try Cluster.tool(["start", folder]) }

        /// The cluster's own database is the vault's: the cluster is this test's alone.
        var database: PostgresTestDatabase { PostgresTestDatabase(name: "postgres", uri: uri, clusterURI: uri) }
    }

    /// What the load saw, shared by its tasks.
    final class Tally: Sendable {
        /// `down`: from the moment the kill has returned (every PostgreSQL process gone) to the moment the
        /// restart begins. A call sent and answered within it cannot have committed anything.
        enum Phase: Int { case before, killing, down, after }

        struct State {
            var phase = Phase.before
            /// Token and value of every tokenize a client saw acknowledged.
            var acknowledged: [(token: String, value: String)] = []
            var acknowledgedAfter = 0
            var unavailable = 0
            var revealsAnswered = 0
            /// Calls sent and answered while the database was down that still succeeded: must stay 0.
            var answeredWhileDown = 0
            /// Anything else, by error shape only (never a value).
            var other: [String] = []
        }

        let state = Mutex(State())
        var phase: Phase { state.withLock { $0.phase } }
    }

    @Test(
        "PostgreSQL killed under load and brought back: store unavailable meanwhile, the same server serves again, no acknowledged write lost"
    )
    func killedUnderLoad() async throws {
        try await Cluster.with { cluster in
            try await VaultFixture.with(initialized: false) { vault in
                let store = ["CVAULT_STORE": cluster.uri]
                let initialized = try await vault.cvault(["init"], environment: store)
                try #require(initialized.status == 0, "init failed: \(initialized.stderr)")
                let environment = vault.environment.merging(store) { $1 }
                let socketFolder = try makeSocketFolder()
                defer { try? FileManager.default.removeItem(atPath: socketFolder) }
                let server = try await ServerProcess.start(
                    environment: environment,
                    folder: vault.root,
                    socket: socketFolder + "/s.sock"
                )
                let pid = server.process.pid
                let tally = Tally()

                let seed = VaultClient(socketPath: server.socket, timeout: .seconds(60))
                let revealed = try await seed.tokenize(kind: "text", subject: "cust-reveal", values: ["seed-value"])
                await seed.close()

                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<6 {
                        group.addTask { try await Self.tokenizeLoop(writer, socket: server.socket, tally) }
                    }
                    group.addTask { try await Self.revealLoop(revealed[0], socket: server.socket, tally) }

                    try await Task.sleep(for: .milliseconds(1500))
                    tally.state.withLock { $0.phase = .killing }
                    try cluster.kill()
                    tally.state.withLock { $0.phase = .down }
                    try await Task.sleep(for: .milliseconds(2000))
                    tally.state.withLock { $0.phase = .after }
                    try cluster.start()
                    try await group.waitForAll()
                }

                let seen = tally.state.withLock { $0 }
                // Every failure is "store unavailable", including the rare one libpq makes itself on a
                // connection it still thinks is up (PostgresConnectionTests); the server's error lines name any
                // other.
                #expect(
                    seen.other.isEmpty,
                    """
                    errors other than store unavailable: \(seen.other.prefix(5)); the server's errors: \
                    \((server.process.stdout + server.process.stderr).split(separator: "\n").filter { $0.contains("error") && !$0.contains("cannot be reached") }.suffix(5))
                    """
                )
                #expect(seen.unavailable > 0, "no call saw the database gone")
                #expect(seen.answeredWhileDown == 0, "a call succeeded while the database was down")
                #expect(seen.acknowledgedAfter >= 6, "the server did not serve again after the database came back")
                #expect(server.process.isRunning && server.process.pid == pid, "the server was not the same process")

                // Every acknowledged token is there and reveals its value, through the same server.
                let check = VaultClient(socketPath: server.socket, timeout: .seconds(60))
                var wrong = 0
                for start in stride(from: 0, to: seen.acknowledged.count, by: 200) {
                    let batch = Array(seen.acknowledged[start..<min(start + 200, seen.acknowledged.count)])
                    let items = try await check.detokenize(tokens: batch.map(\.token), purpose: "demo")
                    wrong += zip(batch, items).filter { $0.1.value != $0.0.value }.count
                }
                await check.close()
                #expect(
                    wrong == 0,
                    "\(wrong) of \(seen.acknowledged.count) acknowledged tokens did not reveal their value"
                )

                // No reveal left without its audit record: the records of the reveal loop's token are at least its
                // answered reveals (a commit whose answer was lost may add a record, never remove one).
                let records = Int(
                    try cluster.database.run("SELECT count(*) FROM audit WHERE body::jsonb->>'event' = 'detokenize'")
                )
                #expect(
                    (records ?? 0) >= seen.revealsAnswered + (seen.acknowledged.count + 199) / 200,
                    "\(records ?? -1) detokenize records for \(seen.revealsAnswered) answered reveals"
                )
                await server.stop()
                let verified = try await vault.cvault(["audit", "verify"], environment: store)
                #expect(verified.status == 0, "audit verify failed after the outage: \(verified.stderr)")
            }
        }
    }

    /// Tokenizes one new value at a time until it has seen three acknowledged after the database came back.
    static func tokenizeLoop(_ writer: Int, socket: String, _ tally: Tally) async throws {
        let client = VaultClient(socketPath: socket, timeout: .seconds(60))
        defer { Task { await client.close() } }
        var afterwards = 0
        let deadline = ContinuousClock.now + .seconds(120)
        var index = 0
        while afterwards < 3, ContinuousClock.now < deadline {
            index += 1
            let value = "value-\(writer)-\(index)"
            let phase = tally.phase
            do {
                let tokens = try await client.tokenize(kind: "text", subject: "cust-\(writer)", values: [value])
                tally.state.withLock { state in
                    if phase == .down && state.phase == .down { state.answeredWhileDown += 1 }
                    state.acknowledged.append((tokens[0], value))
                    if phase == .after {
                        state.acknowledgedAfter += 1
                    }
                }
                if phase == .after { afterwards += 1 }
            } catch let error as VaultClientError where Self.isUnavailable(error) {
                tally.state.withLock { $0.unavailable += 1 }
                try await Task.sleep(for: .milliseconds(20))
            } catch let error as VaultClientError {
                tally.state.withLock { $0.other.append("tokenize: \(error.code) \(error.data["reason"] as Any)") }
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                tally.state.withLock { $0.other.append("tokenize: \(type(of: error))") }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Reveals one token over and over while the others write, until the writers are done after the outage.
    static func revealLoop(_ token: String, socket: String, _ tally: Tally) async throws {
        let client = VaultClient(socketPath: socket, timeout: .seconds(60))
        defer { Task { await client.close() } }
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let done = tally.state.withLock { $0.phase == .after && $0.acknowledgedAfter >= 18 }
            if done { return }
            let phase = tally.phase
            do {
                let items = try await client.detokenize(tokens: [token], purpose: "demo")
                // A reveal that started before the kill may still have committed its record; one sent and
                // answered while PostgreSQL was down would have skipped it.
                tally.state.withLock { state in
                    guard items.first?.value != nil else { return }
                    state.revealsAnswered += 1
                    if phase == .down && state.phase == .down { state.answeredWhileDown += 1 }
                }
            } catch let error as VaultClientError where Self.isUnavailable(error) {
                tally.state.withLock { $0.unavailable += 1 }
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                tally.state.withLock { $0.other.append("detokenize: \(type(of: error))") }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    static func isUnavailable(_ error: VaultClientError) -> Bool {
        error.code == VaultClientError.internalError && error.data["reason"] == .string("store unavailable")
    }
}
