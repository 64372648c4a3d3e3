/// What a retention purge removed (or, for one batch, what that batch removed).
public struct PurgeTally: Sendable, Equatable {
    /// Token rows deleted, per kind.
    public var tokens: [Kind: Int] = [:]
    /// Data keys destroyed, per kind: those of subjects whose last token went with that kind's rows.
    public var dataKeys: [Kind: Int] = [:]
    /// `purge` audit records written: one per batch that removed anything.
    public var records = 0
    /// Whether old copies of the purged rows are gone from the store's files (`VaultStore.writeAndScrub`).
    /// True when nothing was purged.
    public var scrubbed = true
    /// The pass's cutoffs, one per kind with a retention (`RetentionPass.cutoffs`); empty for one batch.
    public var cutoffs: [RetentionPass.Cutoff] = []

    public init() {}

    public var totalTokens: Int { tokens.values.reduce(0, +) }
    public var totalDataKeys: Int { dataKeys.values.reduce(0, +) }

    mutating func add(_ batch: PurgeTally) {
        tokens.merge(batch.tokens, uniquingKeysWith: +)
        dataKeys.merge(batch.dataKeys, uniquingKeysWith: +)
        records += batch.records
    }
}

extension Vault {
    /// Rows one purge batch removes at most: one write transaction of a few milliseconds, short enough that
    /// the requests queued behind it barely notice.
    public static let defaultPurgeBatch = 500
    /// The batch sizes `cvault purge --batch` and `cvault serve --purge-batch` accept.
    public static let purgeBatches = 1...10_000

    /// The retention pass that would begin now under the policy in force.
    public func retentionPass() -> RetentionPass { RetentionPass(policy: policy, now: clock.now()) }

    /// A retention pass (docs/DESIGN.md, "Retention"): batches of at most `batch` tokens, each one write
    /// transaction that deletes the rows, destroys the data key of every subject left with no token, and
    /// appends one `purge` audit record with its counts; until a batch finds fewer than `batch` rows due.
    /// After each full batch `between` runs with how long the batch took (the server pauses there so its
    /// traffic goes first) and may stop the pass early by returning false. Then one scrub for the whole pass.
    ///
    /// Killed at any moment, a pass loses at most the batch in flight, which rolls back whole (its rows and its
    /// record together); run again, it removes what is left. `uid` is recorded (the CLI's; nil for the
    /// server's own housekeeping).
    public func purgeExpired(
        batch: Int = Vault.defaultPurgeBatch,
        uid: UInt32? = nil,
        between: @Sendable (Duration) async -> Bool = { _ in true }
    ) async throws(VaultError) -> PurgeTally {
        guard Self.purgeBatches.contains(batch) else {
            throw VaultError(
                .invalidRequest,
                "a purge batch must be \(Self.purgeBatches.lowerBound) to \(Self.purgeBatches.upperBound) tokens",
                hint: "the default is \(Self.defaultPurgeBatch)"
            )
        }
        let pass = retentionPass()
        var total = PurgeTally()
        total.cutoffs = pass.cutoffs
        guard !pass.isEmpty else { return total }
        while true {
            let started = ContinuousClock.now
            let done = try await purgeBatch(pass, limit: batch, uid: uid)
            total.add(done)
            guard done.totalTokens == batch, await between(ContinuousClock.now - started) else { break }
        }
        if total.totalTokens > 0 {
            // Secure delete zeroed the rows' newest copies; one TRUNCATE checkpoint per pass, rather than per
            // batch, takes the older copies out of the WAL.
            total.scrubbed = try await writeAndScrub { _ in () }.scrubbed
        }
        return total
    }

    /// One batch of `pass`: at most `limit` tokens due, oldest first, kind after kind, in one write with its
    /// audit record. Nothing due: nothing written, no record.
    func purgeBatch(_ pass: RetentionPass, limit: Int, uid: UInt32?) async throws(VaultError) -> PurgeTally {
        let sealer = auditSealer
        let keyring = keys.current
        let now = clock.now()
        return try await write { writer in
            var tally = PurgeTally()
            var event = AuditEvent(at: VaultClock.iso8601(now), event: .purge, uid: uid, outcome: .ok)
            var perKind: [String: AuditKindTally] = [:]
            var subjectIDs = Set<Int64>()
            var left = limit
            for cutoff in pass.cutoffs where left > 0 {
                let purged = try writer.purgeTokens(kind: cutoff.kind, createdBefore: cutoff.before, limit: left)
                guard purged.tokens > 0 else { continue }
                left -= purged.tokens
                tally.tokens[cutoff.kind] = purged.tokens
                tally.dataKeys[cutoff.kind] = purged.dataKeys
                perKind[cutoff.kind.rawValue] = AuditKindTally(
                    tokens: purged.tokens,
                    dataKeys: purged.dataKeys,
                    cutoff: VaultClock.iso8601(cutoff.before)
                )
                subjectIDs.formUnion(purged.subjectIDs)
            }
            guard !perKind.isEmpty else { return tally }
            event.count = tally.totalTokens
            event.perKind = perKind
            // By reference only, as a detokenize names them: a batch may concern hundreds of subjects.
            // Distinct ids are distinct subjects, so their references need no de-duplication.
            let names = try subjectIDs.sorted().compactMap { try writer.subject(id: $0)?.name }
            if !names.isEmpty {
                event.subjectRefs = names.map { Binding.subjectReference($0, key: keyring.subjectReferenceKey) }
            }
            try AuditChain.append(event, to: writer, sealer: sealer, now: now)
            tally.records = 1
            return tally
        }
    }
}
