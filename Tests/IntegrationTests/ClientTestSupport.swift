import Foundation
import Testing
import VaultClient
import VaultTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The `cvault` executable built next to this test bundle (.build/<triple>/debug/).
let cvaultBinary: String = {
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("cvault").path
}()

struct ClientTestFailure: Error, CustomStringConvertible {
    let description: String
}

/// What a finished child process printed.
struct ProcessOutput {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs the cvault CLI to completion with the given environment additions.
func runCVault(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> ProcessOutput
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: cvaultBinary)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "CVAULT_SOCKET")
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let out = Pipe()
    let err = Pipe()
    let input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try launch(process)
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    // Outputs here are small; read them whole once the pipes close.
    let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
    let stderrData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessOutput(
        status: process.terminationStatus,
        stdout: String(decoding: stdoutData, as: UTF8.self),
        stderr: String(decoding: stderrData, as: UTF8.self)
    )
}

/// A vault in a fresh short temp folder and a server on it, stopped and removed by `stop()`: one `cvault
/// serve`, or in the PostgreSQL pass three on one fresh database, whose sockets `socketPath` hands out in turn
/// (`TestServers`).
///
/// The policy maps this process's uid (0 when tests run as root) to identity `tester`, role `client`: it may
/// tokenize email, card, text and name (not ssn), see them plain for `demo` and masked for `support`, erase,
/// and send at most 8 values per call. Cards get format-preserving tokens, names deterministic ones.
final class ServerFixture: @unchecked Sendable {
    // @unchecked Sendable: the fields are set once in `start` and only read afterwards; the processes are
    // Foundation's, which are safe to signal and wait on from any thread.
    let folder: String
    /// The vault's database in the PostgreSQL pass.
    let database: PostgresTestDatabase?
    private let sockets: SocketRotation
    private var processes: [Process] = []

    /// The socket of the next server process in turn.
    var socketPath: String { sockets.take() }
    /// What a `cvault` command on this vault gets (the first process's folders).
    var environment: [String: String] { environment(process: 0) }

    static let maxBatch = 8

    private init(folder: String, database: PostgresTestDatabase?, count: Int) {
        self.folder = folder
        self.database = database
        self.sockets = SocketRotation((0..<count).map { folder + "/s\($0).sock" })
    }

    func environment(process index: Int) -> [String: String] {
        TestServers.environment(
            [
                "CVAULT_PASSPHRASE": "client-tests-passphrase", "CVAULT_KEYS": folder + "/keys",
                "CVAULT_DATA": folder + "/data", "CVAULT_POLICY": folder + "/policy.yaml",
            ],
            database: database,
            process: index,
            folder: folder
        )
    }

    static func start(extraArguments: [String] = []) async throws -> ServerFixture {
        let servers = try TestServers.get()
        var template = Array("/tmp/cvt-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ClientTestFailure(description: "mkdtemp failed")
        }
        let folder = String(cString: made)
        let database: PostgresTestDatabase?
        do {
            database = try servers.makeDatabase()
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
        let fixture = ServerFixture(folder: folder, database: database, count: servers.processes)
        do {
            try policy.write(toFile: folder + "/policy.yaml", atomically: true, encoding: .utf8)
            chmod(folder + "/policy.yaml", 0o600)
            let initialized = try runCVault(["init"], environment: fixture.environment)
            guard initialized.status == 0 else {
                throw ClientTestFailure(description: "cvault init failed: \(initialized.stderr)")
            }
            for index in 0..<servers.processes { try await fixture.serve(index, extraArguments) }
        } catch {
            fixture.stop()
            throw error
        }
        return fixture
    }

    private func serve(_ index: Int, _ extraArguments: [String]) async throws {
        let socketPath = sockets.paths[index]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cvaultBinary)
        process.arguments = ["serve", "--socket", socketPath, "--log-level", "error"] + extraArguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment(process: index) { env[key] = value }
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        let log = folder + "/serve-\(index).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try launch(process)
        processes.append(process)
        // Up to 60 s: init and start each run Argon2id, and the machine may be busy.
        for _ in 0..<1200 {
            if !process.isRunning {
                throw ClientTestFailure(
                    description: "cvault serve exited: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")"
                )
            }
            if FileManager.default.fileExists(atPath: socketPath) {
                let probe = VaultClient(socketPath: socketPath, timeout: .seconds(5))
                let health = try? await probe.health()
                await probe.close()
                if health != nil { return }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ClientTestFailure(description: "cvault serve did not answer in time")
    }

    /// Stops the servers (SIGTERM) and waits for them to exit.
    func stopServer() {
        let running = processes.filter(\.isRunning)
        for process in running { process.terminate() }
        for process in running { process.waitUntilExit() }
    }

    /// Stops the servers, drops the database and removes the folder.
    func stop() {
        stopServer()
        try? database?.drop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    static var policy: String {
        """
        kinds:
          card: format-preserving
          name: deterministic
        identities:
          - name: tester
            uid: \(getuid())
            roles: [client]
        roles:
          client:
            tokenize: [email, card, text, name]
            detokenize:
              - kinds: [email, card, text, name]
                purposes: [demo]
                reveal: plain
              - kinds: [email, card]
                purposes: [support]
                reveal: masked
            erase: true
            limits:
              max_batch: \(maxBatch)

        """
    }
}

/// Runs `body` with a fresh server and a client of it; both are closed afterwards, whatever happens.
func withServer<T>(
    extraArguments: [String] = [],
    _ body: (ServerFixture, VaultClient) async throws -> T
) async throws -> T {
    let fixture = try await ServerFixture.start(extraArguments: extraArguments)
    let client = VaultClient(socketPath: fixture.socketPath, timeout: .seconds(30))
    do {
        let result = try await body(fixture, client)
        await client.close()
        fixture.stop()
        return result
    } catch {
        await client.close()
        fixture.stop()
        throw error
    }
}

/// The `VaultClientError` a call threw, or a test failure if it threw something else or nothing.
func serverError<T>(_ body: () async throws -> T) async -> VaultClientError? {
    do {
        _ = try await body()
        Issue.record("expected a server error, the call succeeded")
        return nil
    } catch let error as VaultClientError {
        return error
    } catch {
        Issue.record("expected a VaultClientError, got \(error)")
        return nil
    }
}

/// The `VaultConnectionError` a call threw, or a test failure otherwise.
func connectionError<T>(_ body: () async throws -> T) async -> VaultConnectionError? {
    do {
        _ = try await body()
        Issue.record("expected a connection error, the call succeeded")
        return nil
    } catch let error as VaultConnectionError {
        return error
    } catch {
        Issue.record("expected a VaultConnectionError, got \(error)")
        return nil
    }
}
