import Foundation
import VaultTestSupport

/// A `cvault` process the test does not wait for: a server, or a command to kill -9 half-way. Output goes to
/// private files in `folder` (removed with it). Every wait is bounded.
final class BackgroundCVault: @unchecked Sendable {
    // @unchecked Sendable: `process` is set up in init and afterwards only read (pid, isRunning, status),
    // which Foundation allows from any thread.
    private let process = Process()
    let outPath: String
    let errPath: String

    init(_ arguments: [String], environment: [String: String], folder: String, name: String) throws {
        outPath = folder + "/\(name).out"
        errPath = folder + "/\(name).err"
        try writePrivateFile(outPath, "")
        try writePrivateFile(errPath, "")
        process.executableURL = URL(fileURLWithPath: CVaultProcess.executable)
        process.arguments = arguments
        var env = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "LANG": "C.UTF-8"]
        env.merge(environment) { _, new in new }
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try launch(process)
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Standard output and the `cvault: error:` lines of standard error so far.
    var stdout: String { String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self) }
    var stderr: String { String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self) }
    var errorLines: [String] { stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("cvault: ") } }

    func signal(_ number: Int32) { if process.isRunning { kill(process.processIdentifier, number) } }

    /// Waits for the exit; returns the status (128 + signal after a signal), or nil on timeout.
    func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// SIGKILL, then whether the kill is what ended the process (false if it had already exited on its own)
    /// and the exit status (137 after the kill; nil if it never exited).
    func kill9() async -> (killed: Bool, status: Int32?) {
        let wasRunning = process.isRunning
        signal(SIGKILL)
        let status = await waitForExit(timeout: .seconds(30))
        return (wasRunning && status == 137, status)
    }
}

/// `cvault serve` on a short socket path, started and stopped by a test: one process, or several on one store
/// (each with its own environment and socket), whose sockets `socket` hands out in turn.
final class ServerProcess: Sendable {
    let processes: [BackgroundCVault]
    private let sockets: SocketRotation

    /// The first process (the only one, unless started with several).
    var process: BackgroundCVault { processes[0] }
    /// The socket of the next process in turn.
    var socket: String { sockets.take() }

    /// Starts one server and waits (bounded) until `health` answers on the socket.
    static func start(
        environment: [String: String],
        folder: String,
        socket: String,
        extra: [String] = [],
        timeout: Duration = .seconds(90)
    ) async throws -> ServerProcess {
        try await start(processes: [(environment, socket)], folder: folder, extra: extra, timeout: timeout)
    }

    /// Starts one process per (environment, socket) and waits (bounded) until each answers `health`; on a
    /// failure, every process started is killed before the error leaves.
    static func start(
        processes specs: [(environment: [String: String], socket: String)],
        folder: String,
        extra: [String] = [],
        timeout: Duration = .seconds(90)
    ) async throws -> ServerProcess {
        var processes: [BackgroundCVault] = []
        do {
            for spec in specs {
                processes.append(
                    try BackgroundCVault(
                        ["serve", "--socket", spec.socket, "--log-level", "warning"] + extra,
                        environment: spec.environment,
                        folder: folder,
                        name: "serve-\(randomHex(4))"
                    )
                )
            }
            for (process, spec) in zip(processes, specs) {
                try await waitUntilHealthy(process, socket: spec.socket, timeout: timeout)
            }
        } catch {
            for process in processes {
                process.signal(SIGKILL)
                _ = await process.waitForExit(timeout: .seconds(10))
            }
            throw error
        }
        return ServerProcess(processes: processes, sockets: SocketRotation(specs.map(\.socket)))
    }

    private static func waitUntilHealthy(_ process: BackgroundCVault, socket: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard process.isRunning else {
                throw HarnessError("cvault serve exited early: \(process.errorLines.joined(separator: " | "))")
            }
            if FileManager.default.fileExists(atPath: socket),
                (try? await onThread {
                    try RPCConnection(socket: socket, timeoutSeconds: 10).call("health")["status"] as? String
                }) == "ok"
            {
                return
            }
            guard ContinuousClock.now < deadline else {
                throw HarnessError("cvault serve did not answer health within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private init(processes: [BackgroundCVault], sockets: SocketRotation) {
        self.processes = processes
        self.sockets = sockets
    }

    /// SIGTERM to every process and wait for their clean exits (SIGKILL after the timeout). Returns the exit
    /// status: the first that is not 0 if they differ, nil if one had to be killed.
    @discardableResult
    func stop(timeout: Duration = .seconds(30)) async -> Int32? {
        for process in processes { process.signal(SIGTERM) }
        var statuses: [Int32?] = []
        for process in processes {
            if let status = await process.waitForExit(timeout: timeout) {
                statuses.append(status)
            } else {
                process.signal(SIGKILL)
                _ = await process.waitForExit(timeout: .seconds(10))
                statuses.append(nil)
            }
        }
        guard let all = statuses as? [Int32] else { return nil }
        return all.first { $0 != 0 } ?? 0
    }

    /// Polls `health` on every socket until each server's active KEK is `version` (they re-read the keyring
    /// every second).
    func waitForActiveKEK(_ version: Int, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        for socket in sockets.paths {
            while try await onThread({ try RPCConnection(socket: socket, timeoutSeconds: 10).activeKEK() }) != version {
                guard ContinuousClock.now < deadline else {
                    throw HarnessError("the server did not pick up KEK v\(version) within \(timeout)")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

/// A short private folder for sockets: Unix socket paths must stay under 108 bytes.
func makeSocketFolder() throws -> String {
    var template = Array("/tmp/cvk-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp failed: errno \(errno)") }
    return String(cString: made)
}
