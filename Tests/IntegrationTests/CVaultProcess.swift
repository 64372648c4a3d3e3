import Foundation
import Testing
import VaultTestSupport

/// What one run of the `cvault` binary did.
struct CVaultRun: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String

    /// Standard output split into lines, without the empty tail after the final newline.
    var lines: [String] {
        var lines = stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Standard error's `cvault: error:` lines and `cvault: hint:` lines.
    var errorLines: [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("cvault: error: ") }
    }
    var hintLines: [String] { stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("cvault: hint: ") } }
}

/// Runs the built `cvault` executable as a separate process, as a user's shell would.
enum CVaultProcess {
    /// The executable `swift build --build-tests` put next to the test bundle.
    static let executable: String = locateExecutable()

    /// Runs `cvault arguments` with exactly `environment` (plus PATH, HOME and LANG: nothing is inherited, so
    /// a CVAULT_* variable in the developer's shell cannot change a test), standard input read from `stdin`
    /// (or /dev/null: never the terminal the tests run on), and returns its output and exit status.
    ///
    /// Output goes to private temporary files rather than pipes, so a chatty process never blocks on a full
    /// pipe; the files are removed before this returns (they may hold revealed values).
    static func run(
        _ arguments: [String],
        environment: [String: String],
        stdin: String? = nil,
        directory: String? = nil
    ) async throws -> CVaultRun {
        await ProcessSlots.shared.acquire()
        do {
            let run = try await runNow(arguments, environment: environment, stdin: stdin, directory: directory)
            await ProcessSlots.shared.release()
            return run
        } catch {
            await ProcessSlots.shared.release()
            throw error
        }
    }

    private static func runNow(
        _ arguments: [String],
        environment: [String: String],
        stdin: String?,
        directory: String?
    ) async throws -> CVaultRun {
        let scratch = try makeTemporaryFolder(prefix: "cvault-run")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outPath = scratch + "/stdout"
        let errPath = scratch + "/stderr"
        let inPath = scratch + "/stdin"
        try writePrivateFile(outPath, "")
        try writePrivateFile(errPath, "")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "LANG": "C.UTF-8"]
        env.merge(environment) { _, new in new }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer {
            try? output.close()
            try? errors.close()
        }
        process.standardOutput = output
        process.standardError = errors
        if let stdin {
            try writePrivateFile(inPath, stdin)
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        } else {
            process.standardInput = FileHandle.nullDevice
        }

        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in
                let code = finished.terminationStatus
                // A death by signal reads like a shell's $?: 128 + the signal number.
                continuation.resume(returning: finished.terminationReason == .uncaughtSignal ? 128 + code : code)
            }
            do { try launch(process) } catch { continuation.resume(throwing: error) }
        }
        let stdout = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
        let stderr = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        return CVaultRun(status: status, stdout: stdout, stderr: stderr)
    }

    /// On Linux `swift test` runs `.build/<triple>/debug/<Package>PackageTests.xctest`, and `swift build
    /// --build-tests` builds `cvault` into the same folder. Falls back to `swift build --show-bin-path`.
    private static func locateExecutable() -> String {
        var folders: [URL] = []
        if let override = ProcessInfo.processInfo.environment["CVAULT_TEST_BIN_DIR"] {
            folders.append(URL(fileURLWithPath: override))
        }
        folders.append(
            URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        )
        if let executable = Bundle.main.executableURL { folders.append(executable.deletingLastPathComponent()) }
        folders.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for folder in folders {
            let candidate = folder.appendingPathComponent("cvault").path
            if isExecutableFile(candidate) { return candidate }
        }
        if let binPath = swiftBuildBinPath(), isExecutableFile(binPath + "/cvault") { return binPath + "/cvault" }
        // Every run then fails with "no such file", naming where it looked.
        return folders.first!.appendingPathComponent("cvault").path
    }

    /// A regular executable file: the build folder also holds a `cvault.build` folder, and folders are "executable".
    private static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && access(path, X_OK) == 0
    }

    private static func swiftBuildBinPath() -> String? {
        // This file is <package>/Tests/IntegrationTests/CVaultProcess.swift.
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "build", "--show-bin-path"]
        process.currentDirectoryURL = package
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        guard (try? launch(process)) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A fresh private folder (mode 0700, from mkdtemp) under the system's temporary folder.
func makeTemporaryFolder(prefix: String) throws -> String {
    var template = Array((NSTemporaryDirectory() + prefix + "-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "mkdtemp failed: errno \(errno)"])
    }
    return String(cString: made)
}

/// Caps how many `cvault` processes run at once. Tests run in parallel, and every command that opens a
/// keyring runs Argon2id over 256 MiB: unbounded, a full run would start dozens at once on a shared 2-core
/// machine. More than twice the cores buys no speed for CPU-bound work.
actor ProcessSlots {
    static let shared = ProcessSlots(limit: 2 * max(1, ProcessInfo.processInfo.activeProcessorCount))

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { free = limit }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the slot straight to the longest waiter, if any.
    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}
