import ArgumentParser
import Foundation
import VaultClient
import VaultCore

#if canImport(Glibc)
import Glibc
#endif

/// Errors to stderr as `cvault: error: …` and `cvault: hint: …` (like age), with a non-zero exit.
/// Messages come from `VaultError`, which never holds a value or a secret.
func reporting<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as VaultError {
        printError(error.message, hint: error.hint)
        throw ExitCode(exitCode(for: error.code))
    } catch let error as VaultClientError {
        // Socket mode: the server's message and what its `data` says (never a value: the server sends none).
        printError(error.description, hint: hint(for: error))
        throw ExitCode(1)
    } catch let error as VaultConnectionError {
        printError(
            "\(error.message) (\(error.socketPath))",
            hint: error.kind == .cannotConnect
                ? "is `cvault serve` running there? Without --socket or CVAULT_SOCKET the vault's files are used directly"
                : nil
        )
        throw ExitCode(1)
    }
}

private func hint(for error: VaultClientError) -> String? {
    switch error.code {
    case VaultClientError.unknownIdentity:
        return "add this uid to the server's policy identities and reload it (SIGHUP)"
    case VaultClientError.forbidden: return "the server's policy does not grant this to your identity"
    case VaultClientError.sealed: return "the server's vault keys are not loaded"
    case VaultClientError.internalError: return "ask the operator to look up the request id in the server log"
    default: return nil
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
