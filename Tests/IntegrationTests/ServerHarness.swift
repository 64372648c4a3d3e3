import Foundation
import Synchronization
import Testing
import VaultTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The policies the server tests run under (docs/POLICY.md), built from the two pieces most of them share.
enum ServerPolicies {
    /// uid 0 as `operator`, with role `admin` (an entry of `identities:`).
    static let operatorIdentity = """
          - name: operator
            uid: 0
            roles: [admin]
        """

    /// `admin` may do everything: tokenize every kind, see every kind plain for purpose `ops`, erase (an entry
    /// of `roles:`).
    static let adminRole = """
          admin:
            tokenize: [email, phone, card, ssn, name, address, date, text]
            detokenize:
              - kinds: [email, phone, card, ssn, name, address, date, text]
                purposes: [ops]
                reveal: plain
            erase: true
        """

    /// The one most server tests use: `operator` (uid 0) may do everything, and uid 1001 is a narrower help
    /// desk (tokenize names only, masked emails, cards and names for `support`, no erase); uid 1002 is not an
    /// identity.
    static let standard = """
        kinds:
          name: deterministic
          card: format-preserving
        identities:
        \(operatorIdentity)
          - name: helpdesk
            uid: 1001
            roles: [support]
        roles:
        \(adminRole)
          support:
            tokenize: [name]
            detokenize:
              - kinds: [email, card, name]
                purposes: [support]
                reveal: masked

        """

    /// `operator` (uid 0) alone, under the token modes of `kinds` (a whole `kinds:` block).
    static func operatorOnly(kinds: String) -> String {
        """
        \(kinds)
        identities:
        \(operatorIdentity)
        roles:
        \(adminRole)

        """
    }
}

/// One server on its own vault, policy and socket, in its own folder under /tmp: one `cvault serve` on SQLite,
/// or, in the PostgreSQL pass (`TestServers`), three on one fresh database, whose sockets `socketPath` hands
/// out in turn.
///
/// The folder is 0755 and the client script in it 0644, so clients running as other uids (setpriv) reach
/// the sockets and the script. Waiting is always bounded; `destroy()` stops the processes, drops the database
/// and removes the folder.
final class ServerHarness: @unchecked Sendable {
    // @unchecked Sendable: the mutable state (the running processes, the start count) is behind `state`.
    static let passphrase = "integration-test-passphrase-not-secret"

    let dir: String
    let servers: TestServers
    /// The server's database in the PostgreSQL pass.
    let database: PostgresTestDatabase?
    private let sockets: SocketRotation
    /// The socket of the next process in turn (always the same one on SQLite).
    var socketPath: String { sockets.take() }
    var policyPath: String { dir + "/policy.yaml" }
    /// The first process's folders (on SQLite, the vault's).
    var keysDir: String { dir + "/keys" }
    var dataDir: String { dir + "/data" }
    var clientScript: String { dir + "/cvault_client.py" }
    let socketMode: String

    private struct State {
        var processes: [Process] = []
        var starts = 0
        var stderrPaths: [String] = []
    }
    private let state = Mutex(State())

    /// Creates the folder, runs `cvault init` there, writes `policy` (0644, like a real root-owned policy)
    /// and copies the Python client in.
    init(policy: String = ServerPolicies.standard, socketMode: String = "0666") throws {
        servers = try TestServers.get()
        var template = Array("/tmp/cvs.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw HarnessError("mkdtemp failed")
        }
        dir = String(cString: made)
        self.socketMode = socketMode
        sockets = SocketRotation(
            (0..<servers.processes).map { [dir] in dir + ($0 == 0 ? "/s.sock" : "/s\($0).sock") }
        )
        do {
            database = try servers.makeDatabase()
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
        do {
            chmod(dir, 0o755)
            try writePolicy(policy)
            let client = ServerBinaries.packageRoot + "/Tools/cvault_client.py"
            try FileManager.default.copyItem(atPath: client, toPath: clientScript)
            chmod(clientScript, 0o644)
            let result = try runProcess(
                ServerBinaries.cvault,
                ["init"],
                environment: environment,
                directory: dir,
                timeout: 120
            )
            guard result.status == 0 else { throw HarnessError("cvault init failed: \(result.stderr)") }
        } catch {
            destroy()
            throw error
        }
    }

    /// What every cvault command of this harness gets: the vault's folders (the first process's), the store
    /// in the PostgreSQL pass, and the (test) passphrase.
    var environment: [String: String] { environment(process: 0) }

    /// What process `index` gets.
    func environment(process index: Int) -> [String: String] {
        TestServers.environment(
            [
                "PATH": "/usr/bin:/bin", "CVAULT_PASSPHRASE": Self.passphrase, "CVAULT_KEYS": keysDir,
                "CVAULT_DATA": dataDir,
            ],
            database: database,
            process: index,
            folder: dir
        )
    }

    /// Replaces the policy file atomically (write, then rename), mode 0644.
    func writePolicy(_ text: String) throws {
        let temporary = policyPath + ".new"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        chmod(temporary, 0o644)
        guard rename(temporary, policyPath) == 0 else { throw HarnessError("rename failed: errno \(errno)") }
    }

    /// `cvault serve`'s arguments for process `index`.
    func serveArguments(process index: Int = 0) -> [String] {
        [
            "serve", "--socket", sockets.paths[index], "--socket-mode", socketMode, "--policy", policyPath,
            "--log-level", "warning",
        ]
    }

    /// Launches one `cvault serve` as process `index` (stdout and stderr to files in the folder) without
    /// waiting for it.
    func launch(process index: Int = 0, extra: [String] = []) throws -> (Process, stderr: String) {
        let n = state.withLock { s -> Int in
            s.starts += 1
            return s.starts
        }
        let stderrPath = dir + "/serve-\(n).err"
        let process = try spawn(
            ServerBinaries.cvault,
            serveArguments(process: index) + extra,
            environment: environment(process: index),
            directory: dir,
            stdout: dir + "/serve-\(n).out",
            stderr: stderrPath
        )
        return (process, stderrPath)
    }

    /// Starts the server's processes (with `extra` serve options) and waits (bounded) until each answers
    /// `health`.
    func start(extra: [String] = []) throws {
        var started: [(Process, String)] = []
        for index in 0..<servers.processes { started.append(try launch(process: index, extra: extra)) }
        state.withLock {
            $0.processes = started.map(\.0)
            $0.stderrPaths = started.map(\.1)
        }
        for (index, (process, _)) in started.enumerated() {
            try waitUntilHealthy(process, socket: sockets.paths[index])
        }
    }

    private func waitUntilHealthy(_ process: Process, socket: String) throws {
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            guard process.isRunning else {
                throw HarnessError(
                    "cvault serve exited with \(process.terminationStatus) at start: \(serverLog())"
                )
            }
            if let connection = try? RawConnection(socket, timeout: 5),
                let response = try? connection.call(requestLine(method: "health")),
                (response.resultObject?["status"] as? String) == "ok"
            {
                return
            }
            usleep(50_000)
        }
        throw HarnessError("cvault serve did not answer health in time: \(serverLog())")
    }

    /// The first process (the only one on SQLite).
    var process: Process? { state.withLock { $0.processes.first } }
    var processes: [Process] { state.withLock { $0.processes } }
    var pid: Int32 { process?.processIdentifier ?? 0 }

    /// The current processes' stderr, one after the other (log lines carry no values).
    func serverLog() -> String {
        state.withLock { $0.stderrPaths }.map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" }
            .joined(separator: "\n")
    }

    /// Sends `number` to every process still running.
    func signal(_ number: Int32) {
        for process in processes where process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Waits (bounded) for every process to exit; the first one's status and whether it was killed by a
    /// signal.
    func waitForExit(timeout: TimeInterval = 60) throws -> (status: Int32, signaled: Bool) {
        let all = processes
        guard let first = all.first else { throw HarnessError("no server process") }
        for process in all { try waitForProcessExit(process, timeout: timeout) }
        return (first.terminationStatus, first.terminationReason == .uncaughtSignal)
    }

    /// kill -9 and wait for the processes to be gone.
    func killHard() throws {
        signal(SIGKILL)
        _ = try waitForExit(timeout: 30)
    }

    /// SIGTERM, bounded wait, then SIGKILL for any still there.
    func stop() {
        let running = processes.filter(\.isRunning)
        for process in running { kill(process.processIdentifier, SIGTERM) }
        for process in running where (try? waitForProcessExit(process, timeout: 30)) == nil {
            kill(process.processIdentifier, SIGKILL)
            try? waitForProcessExit(process, timeout: 10)
        }
    }

    /// Stops the servers, drops the database and removes the folder.
    func destroy() {
        stop()
        try? database?.drop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes; whether it held.
    func eventually(timeout: TimeInterval = 30, _ condition: () throws -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if (try? condition()) == true { return true }
            usleep(50_000)
        } while Date() < deadline
        return false
    }

    // MARK: Requests as uid 0 over a fresh connection

    /// One request on a new connection.
    func call(_ method: String, _ params: Any? = nil, id: Any = 1) throws -> [String: Any] {
        let connection = try RawConnection(socketPath)
        return try connection.call(requestLine(id: id, method: method, params: params))
    }

    func tokenize(kind: String, subject: String, values: [String]) throws -> [String] {
        let response = try call("tokenize", ["kind": kind, "subject": subject, "values": values])
        guard let tokens = response.resultObject?["tokens"] as? [String], tokens.count == values.count else {
            throw HarnessError("tokenize failed with code \(response.errorCode.map(String.init) ?? "none")")
        }
        return tokens
    }

    /// The items of a detokenize call, as (value, reveal) or (nil, error).
    func detokenize(_ tokens: [String], purpose: String = "ops") throws -> [[String: String]] {
        let response = try call("detokenize", ["tokens": tokens, "purpose": purpose])
        guard let items = response.resultObject?["items"] as? [[String: String]], items.count == tokens.count else {
            throw HarnessError("detokenize failed with code \(response.errorCode.map(String.init) ?? "none")")
        }
        return items
    }

    /// Detokenizes `tokens` (in chunks under the batch limit) and tells whether each came back plain with
    /// exactly the expected value. Never returns or prints the values themselves.
    func allRevealPlain(_ tokens: [String], as expected: [String]) throws -> Bool {
        precondition(tokens.count == expected.count)
        var start = 0
        while start < tokens.count {
            let end = min(start + 500, tokens.count)
            let items = try detokenize(Array(tokens[start..<end]))
            for (item, value) in zip(items, expected[start..<end])
            where item["reveal"] != "plain" || item["value"] != value {
                return false
            }
            start = end
        }
        return true
    }

    // MARK: Canaries: values stored at start, checked after every abuse

    private let canaryState = Mutex<(tokens: [String], values: [String])>(([], []))

    /// Stores a few values whose tokens must keep detokenizing to the same values whatever happens.
    func seedCanaries() throws {
        var tokens: [String] = []
        var values: [String] = []
        for (kind, value) in [
            ("email", "canary.one@example.com"), ("card", "4111111111111111"), ("text", "canary text ✓ \u{1F600}"),
            ("name", "Ada Lovelace"),
        ] {
            tokens += try tokenize(kind: kind, subject: "canary-subject", values: [value])
            values.append(value)
        }
        canaryState.withLock { $0 = (tokens, values) }
    }

    /// On a new connection: the server answers, and every canary token still reveals its value.
    func canariesIntact() throws -> Bool {
        let (tokens, values) = canaryState.withLock { $0 }
        guard !tokens.isEmpty else { throw HarnessError("no canaries were seeded") }
        let health = try call("health")
        guard (health.resultObject?["status"] as? String) == "ok" else { return false }
        return try allRevealPlain(tokens, as: values)
    }
}

// MARK: - Binaries and processes

enum ServerBinaries {
    /// The package root, from this file's place in it (Tests/IntegrationTests/…).
    static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    /// The built `cvault`, next to the test bundle (or under .build/debug).
    static let cvault: String = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "cvault"
        ).path
        for candidate in [beside, packageRoot + "/.build/debug/cvault"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return beside
    }()
}

/// Starts a process with stdin from /dev/null (or `stdin`'s bytes) and stdout/stderr to files.
func spawn(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String],
    directory: String,
    stdout: String,
    stderr: String,
    stdin: [UInt8]? = nil
) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = environment
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let out = open(stdout, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    let err = open(stderr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard out >= 0, err >= 0 else { throw HarnessError("cannot create output files") }
    process.standardOutput = FileHandle(fileDescriptor: out, closeOnDealloc: true)
    process.standardError = FileHandle(fileDescriptor: err, closeOnDealloc: true)
    var pipe: Pipe?
    if stdin != nil {
        pipe = Pipe()
        process.standardInput = pipe
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    try launch(process)
    if let pipe, let stdin {
        pipe.fileHandleForWriting.write(Data(stdin))
        try? pipe.fileHandleForWriting.close()
    }
    return process
}

/// Polls until `process` exits; kills it and throws if it outlives `timeout`.
func waitForProcessExit(_ process: Process, timeout: TimeInterval) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
        guard Date() < deadline else {
            kill(process.processIdentifier, SIGKILL)
            throw HarnessError("\(process.executableURL?.lastPathComponent ?? "process") did not exit in time")
        }
        usleep(20_000)
    }
    process.waitUntilExit()
}

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a process to completion (bounded), capturing its output through files in `directory`.
func runProcess(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String],
    directory: String,
    stdin: [UInt8]? = nil,
    timeout: TimeInterval = 60
) throws -> ProcessResult {
    let tag = UUID().uuidString
    let outPath = directory + "/.run-\(tag).out"
    let errPath = directory + "/.run-\(tag).err"
    defer {
        unlink(outPath)
        unlink(errPath)
    }
    let process = try spawn(
        executable,
        arguments,
        environment: environment,
        directory: directory,
        stdout: outPath,
        stderr: errPath,
        stdin: stdin
    )
    try waitForProcessExit(process, timeout: timeout)
    return ProcessResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    )
}

extension ServerHarness {
    /// Runs the cvault CLI on this harness's vault (e.g. `audit verify`), as on the first process's host.
    func cvault(_ arguments: [String]) throws -> ProcessResult {
        try runProcess(ServerBinaries.cvault, arguments, environment: environment, directory: dir, timeout: 120)
    }

    /// `cvault policy reload --policy FILE` as on each process's host (it finds its server through the pid
    /// file in that host's data folder): one result per process, in order.
    func reloadPolicy() throws -> [ProcessResult] {
        try (0..<servers.processes).map { index in
            try runProcess(
                ServerBinaries.cvault,
                ["policy", "reload", "--policy", policyPath],
                environment: environment(process: index),
                directory: dir,
                timeout: 120
            )
        }
    }

    /// Runs Tools/cvault_client.py (the independent Python client) against this server, as `uid` (through
    /// setpriv when not root), with /usr/bin/python3. `script`: another script in the folder instead (one that
    /// imports the client), given the same `--socket PATH --timeout 30` first.
    func python(
        _ arguments: [String],
        uid: UInt32 = 0,
        stdin: [UInt8]? = nil,
        script: String? = nil
    ) throws -> ProcessResult {
        var command =
            ["/usr/bin/python3", script ?? clientScript, "--socket", socketPath, "--timeout", "30"] + arguments
        if uid != 0 {
            command = ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups"] + command
        }
        return try runProcess(
            command[0],
            Array(command.dropFirst()),
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"],
            directory: dir,
            stdin: stdin,
            timeout: 90
        )
    }
}

// MARK: - One server shared by a suite

/// Starts one server (with canaries) for the suite it is attached to, and stops it after the suite's last
/// test. Tests reach it through `SharedServer.current`.
struct SharedServerTrait: SuiteTrait, TestScoping {
    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        try server.seedCanaries()
        try await SharedServer.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == SharedServerTrait {
    /// One `cvault serve` for the whole suite.
    static var sharedServer: Self { Self() }
}

enum SharedServer {
    @TaskLocal static var current: ServerHarness?

    static func get() throws -> ServerHarness {
        guard let current else { throw HarnessError("no shared server: the suite needs the .sharedServer trait") }
        return current
    }
}
