import Logging

public typealias Identity = Policy.Identity

/// Who is calling, as established by the transport (the socket peer's uid, or the CLI process's uid) and
/// matched against the policy. Never taken from a request.
public struct Caller: Sendable, Equatable {
    public let identity: Identity
    public let uid: UInt32
}

/// The vault: turns values into tokens and back, through the gate, with an audit record for everything.
///
/// The domain's front door. It knows nothing of sockets or the command line: the server and the CLI both
/// resolve a `Caller` and call these methods.
public final class Vault: Sendable {
    let store: any VaultStore
    let policies: PolicyHolder
    let clock: VaultClock
    let logger: Logger
    /// Connections from uids not in the policy, audited in aggregate (`UnknownIdentityCounter`).
    public let unknownIdentities: UnknownIdentityCounter
    /// Signs seals, and knows the head the audit chain must extend (the anchor file beside the keyring).
    let auditSealer: AuditSealer
    /// Each identity's `reveals_per_minute` and `misses_per_minute`: in this process, or in the store when
    /// other processes share it (`BudgetPlace`).
    let budgets: BudgetPlace
    /// The keyring in force, reloaded when another process changes it (`KeyringHolder`).
    let keys: KeyringHolder

    /// Seconds an idempotency key is remembered (docs/PROTOCOL.md §6.1): past it, the key is a new one and its
    /// record is purged.
    let idempotencyLifetime: Int64

    /// The documented default lifetime of an idempotency key: 24 hours.
    public static let defaultIdempotencyLifetime: Int64 = 86_400

    public init(
        keyring: Keyring,
        store: any VaultStore,
        policies: PolicyHolder,
        clock: VaultClock = .system,
        logger: Logger = Logger(label: "cvault.vault"),
        idempotencyLifetime: Int64 = Vault.defaultIdempotencyLifetime
    ) {
        self.idempotencyLifetime = max(1, idempotencyLifetime)
        self.keys = KeyringHolder(keyring, logger: logger)
        self.store = store
        self.policies = policies
        self.clock = clock
        self.budgets = BudgetPlace(for: store, clock: clock)
        self.logger = logger
        self.unknownIdentities = UnknownIdentityCounter(clock: clock)
        self.auditSealer = AuditSealer(
            signer: keyring.auditSigner,
            anchorPath: keyring.source.anchorPath,
            logger: logger
        )
    }

    /// The keyring in force. Swapped atomically when a rotation made elsewhere is picked up.
    public var keyring: Keyring { keys.current }

    public var policy: Policy { policies.current }

    /// Re-reads the keyring if another process (the CLI, another server's host) changed it. Returns the new
    /// generation, or nil.
    @discardableResult
    public func reloadKeyringIfChanged() async throws(VaultError) -> Int? {
        try await keys.reloadIfChanged()
    }

    /// Matches a transport uid against the policy. Unknown uids get `.unknownIdentity`.
    public func caller(uid: UInt32) throws(VaultError) -> Caller {
        guard let identity = policy.identity(uid: uid) else {
            throw VaultError(
                .unknownIdentity,
                "uid \(uid) is not an identity in the policy",
                hint: "add an identity with this uid to the policy and reload it"
            )
        }
        return Caller(identity: identity, uid: uid)
    }

    /// Counts for status and health.
    public func stats() async throws(VaultError) -> StoreStats {
        try await read { try $0.stats() }
    }

    /// Signs the audit chain's head if it is not sealed yet (called periodically by the server, at shutdown,
    /// and by CLI commands after they write), and waits until the anchor file holds it. First picks up an
    /// anchor another process moved and checks the database's head still extends the trusted one: this is
    /// how a running server notices, within a second, a log rewritten under it. Fails with `.audit` if the log
    /// is broken (nothing is then sealed).
    public func sealAudit() async throws(VaultError) {
        let sealer = auditSealer
        let now = clock.now()
        _ = try await write { writer in try AuditChain.sealHead(writer: writer, sealer: sealer, now: now) }
        sealer.flush()
        try sealer.requireIntact()
    }

    /// Why the audit log is broken (its chain does not extend the head this vault anchored), or nil.
    public var auditProblem: String? { auditSealer.problem }

    /// Records an event that is not a data operation (policy load, key operation, init).
    public func audit(
        _ event: AuditEvent.Event,
        caller: Caller?,
        uid: UInt32? = nil,
        outcome: AuditEvent.Outcome = .ok,
        reason: String? = nil,
        detail: String? = nil
    ) async throws(VaultError) {
        let record = AuditEvent(
            at: VaultClock.iso8601(clock.now()),
            event: event,
            identity: caller?.identity.name,
            uid: caller?.uid ?? uid,
            roles: caller?.identity.roles,
            outcome: outcome,
            reason: reason,
            detail: detail
        )
        try await appendAudit(record)
    }

    func appendAudit(_ record: AuditEvent) async throws(VaultError) {
        let sealer = auditSealer
        let now = clock.now()
        _ = try await write { writer in try AuditChain.append(record, to: writer, sealer: sealer, now: now) }
    }

    // MARK: Store access with errors mapped to VaultError

    /// Every write goes through here, so the audit sealer sees which jobs committed (`AuditSealer.job`).
    func write<T: Sendable>(_ work: @escaping @Sendable (any StoreWriter) throws -> T) async throws(VaultError) -> T {
        do { return try await writeUnmapped(work) } catch { throw Self.map(error) }
    }

    /// `write` with the errors as the store and `work` threw them, for an attempt of
    /// `KeyringHolder.withCurrentKeys` (which must see `KeyringOutdated`).
    func writeUnmapped<T: Sendable>(_ work: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        let sealer = auditSealer
        let job = try await store.write { writer in try sealer.job { try work(writer) } }
        sealer.committed(job)
        return job.value
    }

    func writeAndScrub<T: Sendable>(
        _ work: @escaping @Sendable (any StoreWriter) throws -> T
    ) async throws(VaultError)
        -> (value: T, scrubbed: Bool)
    {
        let sealer = auditSealer
        do {
            let done = try await store.writeAndScrub { writer in try sealer.job { try work(writer) } }
            sealer.committed(done.value)
            return (done.value.value, done.scrubbed)
        } catch { throw Self.map(error) }
    }

    func read<T: Sendable>(_ work: @escaping @Sendable (any StoreReader) throws -> T) async throws(VaultError) -> T {
        do { return try await store.read(work) } catch { throw Self.map(error) }
    }

    /// `VaultStore.readThenWrite` with the audit sealer told of the commit; errors as `writeUnmapped`.
    func readThenWriteUnmapped<R: Sendable, T: Sendable>(
        items: Int,
        read: @escaping @Sendable (any StoreReader) throws -> R,
        write: @escaping @Sendable (any StoreWriter, R, ReadSnapshot) throws -> T
    ) async throws -> T {
        let sealer = auditSealer
        let job = try await store.readThenWrite(items: items, read: read) { writer, found, snapshot in
            try sealer.job { try write(writer, found, snapshot) }
        }
        sealer.committed(job)
        return job.value
    }

    /// The one way a store's or a step's error leaves the domain: a `VaultError` as it is, `KeyringOutdated` as
    /// the error it stands for, anything else as `.internal`.
    static func map(_ error: any Error) -> VaultError {
        if let error = error as? VaultError { return error }
        if let outdated = error as? KeyringOutdated { return outdated.answer }
        return VaultError(.internal, "unexpected \(type(of: error))", hint: "report this with the server log")
    }

    func auditTime() -> String { VaultClock.iso8601(clock.now()) }
}
