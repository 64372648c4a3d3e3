import Synchronization

/// `reveals_per_minute`: a token bucket per identity, holding at most `limit` reveals (the burst) and
/// refilling at `limit` per minute.
///
/// Levels are kept in integers, in units of 1/60,000,000,000 of a reveal (a minute in nanoseconds), so that
/// refilling at `limit` per minute adds exactly `limit` units per elapsed nanosecond: no floating-point
/// drift, and counts that tests can assert exactly with an injected `now`.
///
/// One lock guards every bucket. A take is a few integer operations, far cheaper than the decryption
/// each reveal costs, so the lock is never the bottleneck and splitting it would buy nothing.
public final class RevealRateLimiter: Sendable {
    private struct Bucket {
        /// Reveals available, times `unit`.
        var level: Int64
        var updated: ContinuousClock.Instant
    }

    /// One reveal, in bucket units.
    private static let unit: Int64 = 60_000_000_000

    // Keyed by identity name. Identities come only from the policy, so the map stays as small as the
    // policy's list (plus any removed by a reload, whose buckets are kept until the process ends: a few
    // bytes each, and keeping them means removing and re-adding an identity cannot refill its bucket).
    private let buckets = Mutex<[String: Bucket]>([:])

    public init() {}

    /// Takes `count` reveals from `identity`'s bucket if all of them are there, and says whether it did.
    /// Nothing is taken when it says no (all or nothing), so a refused batch can be retried whole later.
    ///
    /// - `limit`: the identity's `reveals_per_minute` (`Policy.limits(for:)`); nil means unlimited and
    ///   always succeeds without touching any bucket. Limits above `RoleLimits.revealsPerMinuteCeiling`
    ///   are treated as that ceiling. A `count` larger than `limit` can never fit the bucket and is refused.
    /// - `now`: injected so tests need not sleep; a time before the bucket's last update counts as no time.
    public func take(identity: String, count: Int, limit: Int?,
                     now: ContinuousClock.Instant = .now) -> Bool {
        guard count > 0 else { return count == 0 }
        guard let limit else { return true }
        let rate = Int64(min(limit, RoleLimits.revealsPerMinuteCeiling))
        guard rate > 0, count <= rate else { return false }
        let capacity = rate * Self.unit
        let needed = Int64(count) * Self.unit

        return buckets.withLock { buckets in
            var bucket = buckets[identity] ?? Bucket(level: capacity, updated: now)
            // A bucket refills completely within a minute, so longer gaps are cut to one: this also keeps
            // `elapsed * rate` below 6e18, inside Int64.
            if now > bucket.updated {
                let elapsed = min(bucket.updated.duration(to: now), .seconds(60))
                let (seconds, attoseconds) = elapsed.components
                let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
                let refill = nanoseconds * rate
                bucket.level = refill >= capacity - bucket.level ? capacity : bucket.level + refill
                bucket.updated = now
            }
            // A lower limit after a policy reload applies at once.
            bucket.level = min(bucket.level, capacity)
            let granted = bucket.level >= needed
            if granted { bucket.level -= needed }
            buckets[identity] = bucket
            return granted
        }
    }
}
