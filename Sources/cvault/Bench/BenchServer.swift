import Foundation
import VaultClient
import VaultCore

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway vault and the `cvault serve` processes on it, for `cvault bench`: one server on SQLite in the
/// temp folder, or `count` servers on one PostgreSQL database (`--store`), each on its own socket.
///
/// The servers are this very executable (or `--server`), so a release build of the CLI benchmarks a release
/// build of the server. Its passphrase is random and lives only in the children's environment.
final class BenchServer {
    let folder: String
    /// One per server, in the order they started.
    let socketPaths: [String]
    private let processes: [Process]
    private let logPaths: [String]

    /// Creates the vault (`cvault init`, on `store` if given), writes a policy allowing this uid everything for
    /// kind `text` and purpose `bench`, starts `count` servers and waits until each answers `health`.
    static func start(
        executable: String,
        folder: String,
        logLevel: String,
        store: String? = nil,
        count: Int = 1
    ) async throws -> BenchServer {
        var environment = ProcessInfo.processInfo.environment
        environment["CVAULT_PASSPHRASE"] = "bench-" + Hex.encode(SecureRandom.bytes(16))
        environment["CVAULT_KEYS"] = folder + "/keys"
        environment["CVAULT_DATA"] = folder + "/data"
        environment.removeValue(forKey: "CVAULT_SOCKET")
        environment.removeValue(forKey: "CVAULT_STORE")
        if let store { environment["CVAULT_STORE"] = store }
        let policy = folder + "/policy.yaml"
        environment["CVAULT_POLICY"] = policy
        try Self.policy(uid: getuid()).write(toFile: policy, atomically: true, encoding: .utf8)
        chmod(policy, 0o600)

        let initLog = folder + "/init.log"
        let initStatus = try run(executable, ["init"], environment: environment, log: initLog, wait: true)
            .terminationStatus
        guard initStatus == 0 else {
            throw VaultError(.internal, "cvault init failed in \(folder) (exit \(initStatus))", hint: "see \(initLog)")
        }
        var processes: [Process] = []
        var sockets: [String] = []
        var logs: [String] = []
        for index in 1...max(1, count) {
            let socketPath = folder + "/s\(index).sock"
            let logPath = folder + "/serve\(index).log"
            var arguments = ["serve", "--socket", socketPath, "--log-level", logLevel]
            if store != nil {
                // Each server's own folders for what is its alone (its pid file, its audit anchor), as on
                // separate hosts: only the database is shared.
                let own = folder + "/server\(index)"
                mkdir(own, 0o700)
                mkdir(own + "/keys", 0o700)
                arguments += ["--data", own, "--keys", own + "/keys"]
            }
            processes.append(
                try run(
                    executable,
                    arguments,
                    environment: environment,
                    log: logPath,
                    wait: false
                )
            )
            sockets.append(socketPath)
            logs.append(logPath)
        }
        let servers = BenchServer(folder: folder, socketPaths: sockets, processes: processes, logPaths: logs)
        do {
            for index in processes.indices { try await servers.waitUntilServing(index) }
        } catch {
            servers.stop()
            throw error
        }
        return servers
    }

    private init(folder: String, socketPaths: [String], processes: [Process], logPaths: [String]) {
        self.folder = folder
        self.socketPaths = socketPaths
        self.processes = processes
        self.logPaths = logPaths
    }

    var pids: [Int32] { processes.map(\.processIdentifier) }

    private func waitUntilServing(_ index: Int) async throws {
        let (process, socketPath, logPath) = (processes[index], socketPaths[index], logPaths[index])
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw VaultError(
                    .internal,
                    "cvault serve exited with status \(process.terminationStatus)",
                    hint: "see \(logPath)"
                )
            }
            if FileManager.default.fileExists(atPath: socketPath) {
                let client = VaultClient(socketPath: socketPath, timeout: .seconds(5))
                let health = try? await client.health()
                await client.close()
                if health?.status == "ok" { return }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw VaultError(.internal, "cvault serve did not answer within 60 s", hint: "see \(logPath)")
    }

    /// SIGTERM to every server, then wait for each to answer what it holds and exit.
    func stop() {
        let running = processes.filter(\.isRunning)
        for process in running { process.terminate() }
        for process in running { process.waitUntilExit() }
    }

    /// User plus system CPU time these processes have used so far, summed.
    static func cpuSeconds(pids: [Int32]) -> Double {
        pids.reduce(0) { $0 + cpuSeconds(pid: $1) }
    }

    static func cpuSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return 0 }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func policy(uid: uid_t) -> String {
        """
        # cvault bench: this uid may do everything with kind text, for the purpose bench.
        identities:
          - name: bench
            uid: \(uid)
            roles: [bench]
        roles:
          bench:
            tokenize: [text]
            detokenize:
              - kinds: [text]
                purposes: [bench]
                reveal: plain
            erase: true
            limits:
              max_batch: 1000

        """
    }

    @discardableResult
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        log: String?,
        wait: Bool
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = handle
            process.standardError = handle
        }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        if wait { process.waitUntilExit() }
        return process
    }
}
