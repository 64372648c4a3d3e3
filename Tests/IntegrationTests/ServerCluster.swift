import Foundation
import VaultClient
import VaultTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Several `cvault serve` processes on one PostgreSQL database (active/active), each on a socket of its own:
/// what the multi-server tests run against (docs/SCALING.md). The database is a fresh one on the test cluster
/// (`PostgresTestDatabase`, from `CVAULT_TEST_POSTGRES`); `cvault init` makes the vault in it, then each server
/// is started with the same store (`CVAULT_STORE`), as it would be on a host of its own. `destroy()` stops
/// every server, drops the database and removes the folder.
///
/// Each server has its own folder (its socket, its logs, the keys folder beside which it keeps its own files),
/// as on separate hosts: nothing is shared between them but the database. The folders are 0755 and the Python
/// client 0644, so clients under other uids (setpriv) reach the sockets and the script.
final class ServerCluster: @unchecked Sendable {
    // @unchecked Sendable: `processes` is set once, in `init`, and only read after.
    static let passphrase = ServerHarness.passphrase

    let database: PostgresTestDatabase
    let dir: String
    let count: Int
    private(set) var processes: [Process] = []
    var clientScript: String { dir + "/cvault_client.py" }
    var policyPath: String { dir + "/policy.yaml" }

    func serverDir(_ index: Int) -> String { dir + "/server-\(index)" }
    func socketPath(_ index: Int) -> String { serverDir(index) + "/s.sock" }
    var socketPaths: [String] { (0..<count).map(socketPath) }

    /// Makes the database and the vault in it, then starts `count` servers and waits (bounded) until each
    /// answers `health`. On any failure, whatever was started is stopped and removed before the error leaves.
    init(policy: String, count: Int = 3) throws {
        database = try PostgresTestDatabase.create()
        var template = Array("/tmp/cvc.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            try? database.drop()
            throw HarnessError("mkdtemp failed")
        }
        dir = String(cString: made)
        self.count = count
        do {
            try start(policy: policy)
        } catch {
            destroy()
            throw error
        }
    }

    private func start(policy: String) throws {
        chmod(dir, 0o755)
        try Data(policy.utf8).write(to: URL(fileURLWithPath: policyPath))
        chmod(policyPath, 0o644)
        try FileManager.default.copyItem(
            atPath: ServerBinaries.packageRoot + "/Tools/cvault_client.py",
            toPath: clientScript
        )
        chmod(clientScript, 0o644)
        for index in 0..<count {
            try FileManager.default.createDirectory(atPath: serverDir(index), withIntermediateDirectories: false)
            chmod(serverDir(index), 0o755)
        }
        let made = try cvault(["init"], server: 0)
        guard made.status == 0 else {
            throw HarnessError("cvault init with the PostgreSQL store failed: \(made.stderr)")
        }
        for index in 0..<count {
            processes.append(
                try spawn(
                    ServerBinaries.cvault,
                    [
                        "serve", "--socket", socketPath(index), "--socket-mode", "0666", "--policy", policyPath,
                        "--log-level", "warning",
                    ],
                    environment: environment(index),
                    directory: serverDir(index),
                    stdout: serverDir(index) + "/serve.out",
                    stderr: serverDir(index) + "/serve.err"
                )
            )
        }
        for index in 0..<count { try waitUntilHealthy(index) }
    }

    /// What server `index` (and a CLI command run on its host) gets: the store, its own folders and the test
    /// passphrase.
    func environment(_ index: Int) -> [String: String] {
        [
            "PATH": "/usr/bin:/bin", "CVAULT_PASSPHRASE": Self.passphrase, "CVAULT_STORE": database.uri,
            "CVAULT_KEYS": serverDir(index) + "/keys", "CVAULT_DATA": serverDir(index) + "/data",
        ]
    }

    private func waitUntilHealthy(_ index: Int) throws {
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            guard processes[index].isRunning else {
                throw HarnessError("server \(index) exited with \(processes[index].terminationStatus): \(log(index))")
            }
            if let connection = try? RawConnection(socketPath(index), timeout: 5),
                let response = try? connection.call(requestLine(method: "health")),
                (response.resultObject?["status"] as? String) == "ok"
            {
                return
            }
            usleep(50_000)
        }
        throw HarnessError("server \(index) did not answer health in time: \(log(index))")
    }

    /// Server `index`'s stderr (log lines carry no values).
    func log(_ index: Int) -> String {
        (try? String(contentsOfFile: serverDir(index) + "/serve.err", encoding: .utf8)) ?? ""
    }

    /// Whether every server is still running.
    var allRunning: Bool { processes.allSatisfy(\.isRunning) }

    /// Runs a `cvault` command against the database from server `index`'s folder (an offline command on one
    /// of the hosts).
    func cvault(_ arguments: [String], server index: Int = 0, timeout: TimeInterval = 120) throws -> ProcessResult {
        try runProcess(
            ServerBinaries.cvault,
            arguments,
            environment: environment(index),
            directory: serverDir(index),
            timeout: timeout
        )
    }

    /// One Swift client per server, in server order.
    func clients() -> [VaultClient] { socketPaths.map { VaultClient(socketPath: $0, timeout: .seconds(60)) } }

    /// Every audit record's body, in order, as a JSON object: read from the database itself, as an auditor
    /// would.
    func auditBodies() throws -> [[String: Any]] {
        let text = try database.run("SELECT body FROM audit ORDER BY seq")
        return try text.split(separator: "\n").map { line in
            guard let object = try parseJSON(Array(line.utf8)) as? [String: Any] else {
                throw HarnessError("an audit body is not a JSON object")
            }
            return object
        }
    }

    /// Writes `text` as a script in the cluster's folder (readable by every uid, beside the client it imports)
    /// and returns its path.
    func install(script text: String, named name: String) throws -> String {
        let path = dir + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        return path
    }

    /// Starts `script` with `python3` against server `index`, as `uid`, without waiting for it: the process
    /// and the path of its standard output.
    func launchPython(
        _ script: String,
        server index: Int,
        arguments: [String] = [],
        uid: UInt32 = 0,
        tag: String
    ) throws -> (process: Process, stdout: String) {
        var command = ["/usr/bin/python3", script, "--socket", socketPath(index), "--timeout", "60"] + arguments
        if uid != 0 {
            command = ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups"] + command
        }
        let stdout = dir + "/python-\(tag).out"
        let process = try spawn(
            command[0],
            Array(command.dropFirst()),
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"],
            directory: dir,
            stdout: stdout,
            stderr: dir + "/python-\(tag).err"
        )
        return (process, stdout)
    }

    /// Stops every server (SIGTERM, then SIGKILL after a bounded wait), drops the database, removes the folder.
    func destroy() {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        for process in processes where (try? waitForProcessExit(process, timeout: 30)) == nil {
            kill(process.processIdentifier, SIGKILL)
            try? waitForProcessExit(process, timeout: 10)
        }
        try? database.drop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}
