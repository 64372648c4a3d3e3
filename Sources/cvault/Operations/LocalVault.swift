import VaultCore

/// `VaultOperations` on the vault's files: each call opens a `VaultSession` (keyring unsealed, policy loaded,
/// the caller resolved from this process's uid), does its one operation through `Vault`, then seals the audit
/// head and closes, as one CLI command does. A call that fails leaves the session unsealed, like the command
/// it serves; the error goes out through `reporting`.
struct LocalVault: VaultOperations {
    let location: VaultLocation
    let unseal: UnsealOptions
    let policy: PolicyOption

    func tokenize(_ request: TokenizeRequest) async throws -> [String] {
        let session = try await open()
        let tokens = try await session.vault.tokenize(request, caller: session.caller)
        try await session.finish()
        return tokens
    }

    func detokenize(_ tokens: [String], purpose: Purpose) async throws -> [RevealLine] {
        let session = try await open()
        let items = try await session.vault.detokenize(tokens, purpose: purpose, caller: session.caller)
        try await session.finish()
        return items.map { item in
            switch item {
            case .value(let value, let mode): return .value(value, reveal: mode.rawValue)
            case .error(let failure): return .refused(failure.rawValue)
            }
        }
    }

    func erase(subject: Subject) async throws -> Int {
        let session = try await open()
        let erased: Int
        do {
            erased = try await session.vault.erase(subject: subject, caller: session.caller)
        } catch  where error.isNotScrubbed {
            // Committed and audited, not yet scrubbed: still seal the audit head and try the scrub once more
            // on the way out, then say what happened.
            try? await session.finish(checkpoint: true)
            throw error
        }
        try await session.finish()
        return erased
    }

    func open() async throws -> VaultSession {
        try await VaultSession.open(location, unseal, policy: policy)
    }
}
