import Foundation
import VaultClient
import VaultCore

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway vault in a temp folder and a `cvault serve` process on it, for `cvault bench`.
///
/// The server is this very executable (or `--server`), so a release build of the CLI benchmarks a release
/// build of the server. Its passphrase is random and lives only in the child's environment.
final class BenchServer {
    let folder: String
    let socketPath: String
    private let process: Process
    private let logPath: String

    /// Creates the vault (`cvault init`), writes a policy allowing this uid everything for kind `text` and
    /// purpose `bench`, starts the server and waits until it answers `health`.
    static func start(executable: String, folder: String, logLevel: String) async throws -> BenchServer {
        var environment = ProcessInfo.processInfo.environment
        environment["CVAULT_PASSPHRASE"] = "bench-" + Hex.encode(SecureRandom.bytes(16))
        environment["CVAULT_KEYS"] = folder + "/keys"
        environment["CVAULT_DATA"] = folder + "/data"
        environment.removeValue(forKey: "CVAULT_SOCKET")
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
        let socketPath = folder + "/s.sock"
        let logPath = folder + "/serve.log"
        let process = try run(
            executable,
            ["serve", "--socket", socketPath, "--log-level", logLevel],
            environment: environment,
            log: logPath,
            wait: false
        )
        let server = BenchServer(folder: folder, socketPath: socketPath, process: process, logPath: logPath)
        try await server.waitUntilServing()
        return server
    }

    private init(folder: String, socketPath: String, process: Process, logPath: String) {
        self.folder = folder
        self.socketPath = socketPath
        self.process = process
        self.logPath = logPath
    }

    var pid: Int32 { process.processIdentifier }

    private func waitUntilServing() async throws {
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

    /// SIGTERM, then wait for the server to answer what it holds and exit.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// User plus system CPU time the server has used so far, from /proc (Linux).
    var cpuSeconds: Double { Self.cpuSeconds(pid: pid) }

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
