import Synchronization

/// Connections from uids the policy does not know, counted in memory and audited in aggregate.
///
/// Every such connection is refused at once, but writing one audit record for each would let any local
/// user make the vault fsync as fast as it can connect. So attempts are counted per uid, and once per
/// `window` the vault writes one `connect` record per uid holding the count (`Vault.auditUnknownIdentities`,
/// called by the server's housekeeping and at shutdown). Memory is bounded: past `maxUIDs` distinct uids
/// in one window, further uids are counted together in one record without a uid.
public final class UnknownIdentityCounter: Sendable {
    /// Seconds an aggregation window lasts (docs/AUDIT.md, `connect`).
    public static let window: Int64 = 10
    public static let maxUIDs = 4096

    /// One window's attempts: per uid, those past `maxUIDs` together, and when the window began.
    public struct Tally: Sendable, Equatable {
        public var counts: [UInt32: Int] = [:]
        public var others = 0
        public var since: Int64 = 0
        public var isEmpty: Bool { counts.isEmpty && others == 0 }
    }

    private let clock: VaultClock
    private let state = Mutex(Tally())

    public init(clock: VaultClock) { self.clock = clock }

    public func record(uid: UInt32) {
        let now = clock.now()
        state.withLock { tally in
            if tally.isEmpty { tally.since = now }
            if tally.counts[uid] != nil || tally.counts.count < Self.maxUIDs {
                tally.counts[uid, default: 0] &+= 1
            } else {
                tally.others &+= 1
            }
        }
    }

    /// The tally, emptied, when its window is over (or at once with `force`); nil when there is nothing to
    /// write yet.
    public func take(force: Bool) -> Tally? {
        let now = clock.now()
        return state.withLock { tally -> Tally? in
            guard !tally.isEmpty, force || now < tally.since || now - tally.since >= Self.window else { return nil }
            defer { tally = Tally() }
            return tally
        }
    }

    /// Puts back a tally whose records could not be written, so the attempts are not lost.
    public func restore(_ taken: Tally) {
        state.withLock { tally in
            for (uid, n) in taken.counts { tally.counts[uid, default: 0] &+= n }
            tally.others &+= taken.others
            tally.since = tally.isEmpty ? taken.since : min(tally.since, taken.since)
        }
    }
}

extension Vault {
    /// Writes the aggregated `connect` records of unknown uids (one per uid, `count` = attempts) in one
    /// durable transaction, once the window is over or at once with `force` (at shutdown). Returns what it
    /// wrote, for the log.
    @discardableResult
    public func auditUnknownIdentities(force: Bool = false) async throws(VaultError) -> UnknownIdentityCounter.Tally? {
        guard let tally = unknownIdentities.take(force: force) else { return nil }
        let at = auditTime()
        let since = VaultClock.iso8601(tally.since)
        var records = tally.counts.keys.sorted().map { uid in
            AuditEvent(
                at: at,
                event: .connect,
                uid: uid,
                count: tally.counts[uid] ?? 0,
                outcome: .denied,
                reason: "unknown identity",
                detail: "attempts since \(since)"
            )
        }
        if tally.others > 0 {
            records.append(
                AuditEvent(
                    at: at,
                    event: .connect,
                    count: tally.others,
                    outcome: .denied,
                    reason: "unknown identity",
                    detail: "attempts since \(since) from further uids"
                )
            )
        }
        let sealer = auditSealer
        let written = records
        let now = clock.now()
        do {
            _ = try await write { writer in
                for record in written { try AuditChain.append(record, to: writer, sealer: sealer, now: now) }
            }
        } catch {
            unknownIdentities.restore(tally)
            throw error
        }
        return tally
    }
}
