import Foundation
import Logging
import VaultCore

#if canImport(Glibc)
import Glibc
#endif

/// An opened vault for one CLI command: the keyring unsealed, the database open, the policy loaded, and the
/// caller resolved from this process's uid exactly as the server resolves a socket peer.
struct VaultSession {
    let vault: Vault
    let store: OpenedStore
    let caller: Caller

    static func open(
        _ location: VaultLocation,
        _ unseal: UnsealOptions,
        policy: PolicyOption
    ) async throws -> VaultSession {
        let policies = try loadPolicy(policy)
        let (store, keyring) = try await location.open(unseal)
        let vault = Vault(keyring: keyring, store: store.store, policies: policies, logger: quietLogger())
        let caller = try vault.caller(uid: getuid())
        // Every load of a policy is recorded with the hash of the bytes in force, offline commands included.
        try await vault.recordPolicyLoad("for an offline command", caller: caller)
        return VaultSession(vault: vault, store: store, caller: caller)
    }

    static func loadPolicy(_ option: PolicyOption) throws -> PolicyHolder {
        guard let path = option.path else {
            throw VaultError(
                .policy,
                "no policy file: without one cvault denies everything",
                hint: "pass --policy FILE or set CVAULT_POLICY (see docs/POLICY.md)"
            )
        }
        let holder = PolicyHolder(path: path, logger: quietLogger())
        if case .failure(let error) = holder.reload() { throw error }
        return holder
    }

    /// Seals the audit head and closes the store: every CLI command that wrote ends here.
    func finish(checkpoint: Bool = false) async throws {
        try await vault.sealAudit()
        // After an erase whose own scrub could not finish (`Vault.erase`).
        if checkpoint { await store.checkpointIfSQLite() }
        await store.close()
    }
}

/// An opened vault for an admin command (keys, verify): no policy, no caller; audit records carry the uid.
struct AdminSession {
    let vault: Vault
    let store: OpenedStore

    static func open(_ location: VaultLocation, _ unseal: UnsealOptions) async throws -> AdminSession {
        let (store, keyring) = try await location.open(unseal)
        return AdminSession(vault: vault(keyring: keyring, store: store.store), store: store)
    }

    /// Opens the vault for one admin operation, runs it, then seals the audit head and closes. When `body`
    /// fails the session is left as it is, unless `sealingFailures` (the failure wrote a record worth sealing).
    @discardableResult
    static func perform<T>(
        _ location: VaultLocation,
        _ unseal: UnsealOptions,
        sealingFailures: Bool = false,
        _ body: (Vault) async throws -> T
    ) async throws -> T {
        let session = try await open(location, unseal)
        let result: T
        do {
            result = try await body(session.vault)
        } catch {
            if sealingFailures { try? await session.finish() }
            throw error
        }
        try await session.finish()
        return result
    }

    /// A vault for admin work (`init`, `restore`, `keys`, `verify`): no policy grants anything through it.
    static func vault(keyring: Keyring, store: any VaultStore) -> Vault {
        Vault(
            keyring: keyring,
            store: store,
            policies: PolicyHolder(path: "", initial: .denyAll, logger: quietLogger()),
            logger: quietLogger()
        )
    }

    func finish() async throws {
        try await vault.sealAudit()
        await store.close()
    }
}

/// The CLI logs nothing by default: its output is its answer, errors go to stderr through `reporting`.
func quietLogger() -> Logger {
    var logger = Logger(label: "cvault.cli", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}

/// Values and tokens from the arguments, or one per line from standard input when there are none.
func argumentsOrStdin(_ arguments: [String]) -> [String] {
    if !arguments.isEmpty { return arguments }
    var lines: [String] = []
    while let line = readLine(strippingNewline: true) {
        lines.append(line.hasSuffix("\r") ? String(line.dropLast()) : line)
    }
    return lines
}
