import Foundation
import Logging
import VaultCore
import VaultSQLite

#if canImport(Glibc)
import Glibc
#endif

/// An opened vault for one CLI command: the keyring unsealed, the database open, the policy loaded, and the
/// caller resolved from this process's uid exactly as the server resolves a socket peer.
struct VaultSession {
    let vault: Vault
    let store: SQLiteStore
    let caller: Caller

    static func open(
        _ location: VaultLocation,
        _ unseal: UnsealOptions,
        policy: PolicyOption
    ) async throws -> VaultSession {
        let policies = try loadPolicy(policy)
        let store = try SQLiteStore.open(at: location.databasePath)
        let keyring = try Keyring.open(
            at: location.keyringPath,
            credential: unseal.credential(keyringPath: location.keyringPath)
        )
        let vault = Vault(keyring: keyring, store: store, policies: policies, logger: quietLogger())
        let caller = try vault.caller(uid: getuid())
        // Every load of a policy is recorded with the hash of the bytes in force, offline commands included.
        try await vault.audit(.policyLoad, caller: caller, detail: policies.auditDetail("for an offline command"))
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
        // After an erase whose own scrub could not finish (`Vault.erase`): old WAL frames hold the erased rows'
        // pages until a TRUNCATE checkpoint, and with secure_delete it leaves zeros in their place.
        if checkpoint { try? await store.checkpoint() }
        await store.close()
    }
}

/// An opened vault for an admin command (keys, verify): no policy, no caller; audit records carry the uid.
struct AdminSession {
    let vault: Vault
    let store: SQLiteStore

    static func open(_ location: VaultLocation, _ unseal: UnsealOptions) async throws -> AdminSession {
        let store = try SQLiteStore.open(at: location.databasePath)
        let keyring = try Keyring.open(
            at: location.keyringPath,
            credential: unseal.credential(keyringPath: location.keyringPath)
        )
        let vault = Vault(
            keyring: keyring,
            store: store,
            policies: PolicyHolder(path: "", initial: .denyAll, logger: quietLogger()),
            logger: quietLogger()
        )
        return AdminSession(vault: vault, store: store)
    }

    func audit(_ event: AuditEvent.Event, outcome: AuditEvent.Outcome = .ok, detail: String) async throws {
        try await vault.audit(event, caller: nil, uid: getuid(), outcome: outcome, detail: detail)
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
