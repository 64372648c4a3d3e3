#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import VaultCore

/// Errors to stderr as `cvault: error: …` and `cvault: hint: …` (like age), with a non-zero exit.
/// Messages come from `VaultError`, which never holds a value or a secret.
func reporting<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as VaultError {
        printError(error.message, hint: error.hint)
        throw ExitCode(exitCode(for: error.code))
    }
}

func printError(_ message: String, hint: String? = nil) {
    var text = "cvault: error: \(message)\n"
    if let hint { text += "cvault: hint: \(hint)\n" }
    FileHandle.standardError.write(text)
}

/// Exit codes: 1 for most errors, 64 for usage (argument-parser's EX_USAGE), 3 for integrity and audit failures, so
/// scripts can tell "the data is not what was written" from ordinary errors.
func exitCode(for code: VaultError.Code) -> Int32 {
    switch code {
    case .integrity, .audit: return 3
    default: return 1
    }
}

extension FileHandle {
    func write(_ text: String) { write(Data(text.utf8)) }
}

import Foundation
