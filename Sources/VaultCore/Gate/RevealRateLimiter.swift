/// `reveals_per_minute`: a token bucket per identity (`TokenBucket`), holding at most `limit` reveals (the
/// burst) and refilling at `limit` per minute. This type keeps the buckets in this process's memory; a vault
/// whose store several processes share keeps them in the store (`StoredBudgets`), under the same rule
/// (`take(count:limit:from:)`).
public final class RevealRateLimiter: Sendable {
    private let buckets = BucketsInMemory()

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
        Self.take(count: count, limit: limit) { rate, rule in
            buckets.withBucket(identity, rate: rate, now: now, rule)
        }
    }

    /// The rule of `take`, on whichever bucket `bucket` lends: it is called with the rate (per minute) and the
    /// rule to run on the bucket refilled to now, and only when a bucket is needed at all.
    static func take(
        count: Int,
        limit: Int?,
        from bucket: (Int64, (inout TokenBucket) -> Bool) throws -> Bool
    ) rethrows -> Bool {
        guard count > 0 else { return count == 0 }
        guard let limit else { return true }
        let rate = Int64(min(limit, RoleLimits.revealsPerMinuteCeiling))
        guard rate > 0, count <= rate else { return false }
        let needed = Int64(count) * TokenBucket.unit
        return try bucket(rate) { bucket in
            guard bucket.level >= needed else { return false }
            bucket.level -= needed
            return true
        }
    }
}
