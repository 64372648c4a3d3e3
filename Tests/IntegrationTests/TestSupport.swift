import Foundation
import Testing
import VaultTestSupport

/// Writes `text` to `path` with mode 0600.
func writePrivateFile(_ path: String, _ text: String, mode: mode_t = 0o600) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot write \(path)"])
    }
    try setMode(path, mode)
}

func setMode(_ path: String, _ mode: mode_t) throws {
    guard chmod(path, mode) == 0 else {
        throw CocoaError(.fileWriteNoPermission, userInfo: [NSLocalizedDescriptionKey: "chmod \(path) failed"])
    }
}

/// The permission bits of `path` (0o600, …), or nil if it does not exist.
func permissions(_ path: String) -> mode_t? {
    var info = stat()
    return stat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
}

func fileBytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

func randomHex(_ bytes: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
}

/// The bytes a hex string (as sqlite3's `hex()` prints, or `randomHex` makes) stands for.
func bytes(fromHex hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
        if let byte = UInt8(hex[index..<next], radix: 16) { bytes.append(byte) }
        index = next
    }
    return bytes
}

// MARK: Expectations that never print what they compare
//
// Test output must never show a customer value, a mask of one or a passphrase, even when a test fails, so
// these compare out of sight of #expect's expansion and report only positions and counts.

/// Expects standard output to be exactly `expected`, one line each, and says which lines differ if not.
func expectLines(
    _ run: CVaultRun,
    _ expected: [String],
    _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let actual = run.lines
    guard actual != expected else { return }
    let differing = (0..<max(actual.count, expected.count)).filter { i in
        i >= actual.count || i >= expected.count || actual[i] != expected[i]
    }
    Issue.record(
        "\(what): \(actual.count) lines for \(expected.count) expected; lines \(differing) differ",
        sourceLocation: sourceLocation
    )
}

/// Expects none of `secrets` anywhere in the run's standard output or standard error.
func expectNoLeak(
    _ run: CVaultRun,
    of secrets: [String],
    _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    for (index, secret) in secrets.enumerated() where !secret.isEmpty {
        if run.stdout.contains(secret) {
            Issue.record("\(what): secret \(index) is on standard output", sourceLocation: sourceLocation)
        }
        if run.stderr.contains(secret) {
            Issue.record("\(what): secret \(index) is on standard error", sourceLocation: sourceLocation)
        }
    }
}

/// Every regular file under `folder` (recursively) whose bytes contain `needle`.
func filesContaining(_ needle: Data, under folder: String) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
    var found: [String] = []
    for case let relative as String in walker {
        let path = folder + "/" + relative
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
            let bytes = FileManager.default.contents(atPath: path)
        else { continue }
        if bytes.range(of: needle) != nil { found.append(relative) }
    }
    return found
}

// MARK: The sqlite3 shell, to tamper with a database as an attacker with file access would

/// Runs `sql` on the database at `path` with /usr/bin/sqlite3; fails the test if sqlite3 does.
func sqlite3(
    _ path: String,
    _ sql: String,
    busyTimeoutMilliseconds: Int? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    // A busy timeout makes the shell wait for a running server's write transaction instead of failing.
    process.arguments = ["-batch"] + (busyTimeoutMilliseconds.map { ["-cmd", ".timeout \($0)"] } ?? []) + [path, sql]
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = FileHandle.nullDevice
    try launch(process)
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try #require(
        process.terminationStatus == 0,
        "sqlite3 failed: \(String(decoding: err, as: UTF8.self))",
        sourceLocation: sourceLocation
    )
    return String(decoding: out, as: UTF8.self)
}
