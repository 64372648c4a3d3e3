import Synchronization

/// `reveals_per_minute`: a token bucket per identity (`TokenBucket`), holding at most `limit` reveals (the
/// burst) and refilling at `limit` per minute.
///
/// One lock guards every bucket. A take is a few integer operations, far cheaper than the decryption
/// each reveal costs, so the lock is never the bottleneck and splitting it would buy nothing.
public final class RevealRateLimiter: Sendable {
    // Keyed by identity name. Identities come only from the policy, so the map stays as small as the
    // policy's list (plus any removed by a reload, whose buckets are kept until the process ends: a few
    // bytes each, and keeping them means removing and re-adding an identity cannot refill its bucket).
    private let buckets = Mutex<[String: TokenBucket]>([:])

    public init() {}

    /// Takes `count` reveals from `identity`'s bucket if all of them are there, and says whether it did.
    /// Nothing is taken when it says no (all or nothing), so a refused batch can be retried whole later.
    ///
    /// - `limit`: the identity's `reveals_per_minute` (`Policy.limits(for:)`); nil means unlimited and
    ///   always succeeds without touching any bucket. Limits above `RoleLimits.revealsPerMinuteCeiling`
    ///   are treated as that ceiling. A `count` larger than `limit` can never fit the bucket and is refused.
    /// - `now`: injected so tests need not sleep; a time before the bucket's last update counts as no time.
    public func take(
        identity: String,
        count: Int,
        limit: Int?,
        now: ContinuousClock.Instant = .now
    ) -> Bool {
        guard count > 0 else { return count == 0 }
        guard let limit else { return true }
        let rate = Int64(min(limit, RoleLimits.revealsPerMinuteCeiling))
        guard rate > 0, count <= rate else { return false }
        let needed = Int64(count) * TokenBucket.unit

        return buckets.withLock { buckets in
            var bucket = buckets[identity] ?? .full(rate: rate, now: now)
            bucket.refill(rate: rate, now: now)
            let granted = bucket.level >= needed
            if granted { bucket.level -= needed }
            buckets[identity] = bucket
            return granted
        }
    }
}
