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
        printError(error.cliMessage, hint: error.cliHint)
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

extension VaultError {
    /// The CLI's words for a domain error. The domain names an operator's input by what it is
    /// (`Field.rewrapBatch`, `.passphrase`, …); where the message or the fix must name the flag or variable
    /// that gives it, the CLI says which.
    var cliMessage: String {
        switch (code, field) {
        case (.invalidRequest, .rewrapBatch?):
            return "--batch must be \(Vault.rewrapBatches.lowerBound) to \(Vault.rewrapBatches.upperBound)"
        default: return message
        }
    }

    var cliHint: String? {
        switch (code, field) {
        case (.notInitialized, .vaultFiles?): return "run `cvault init` first, or pass the right --keys/--data folder"
        case (.invalidRequest, .shares?): return "for example --shares 5 --threshold 3"
        case (.wrongPassphrase, .passphrase?):
            return "check CVAULT_PASSPHRASE or --passphrase-file; \(VaultError.keyringUnchanged)"
        case (.wrongPassphrase, .unsealShares?):
            return limit.map { "give \($0) different shares with --unseal-share" } ?? hint
        case (.audit, .allowRollback?):
            return "pass --accept-rollback to restore it anyway; \(VaultError.rollbackWarning)"
        default: return hint
        }
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
