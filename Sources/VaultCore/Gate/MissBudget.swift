/// `misses_per_minute`: what guessing at tokens costs. A token bucket per identity (`TokenBucket`), holding
/// at most `limit` misses (the burst) and refilling at `limit` per minute, charged with the `not_found`
/// items of each detokenize call after its look-ups and before anything of it is answered. This type keeps
/// the buckets in this process's memory; a vault whose store several processes share keeps them in the store
/// (`StoredBudgets`), under the same rule (`charge(misses:limit:to:)`).
///
/// Unlike the reveal rate, a refusal here is charged too, and an identity in debt is refused whatever it
/// asks. Both are needed because the answer itself carries the information: if refused calls were free, a
/// guesser with r misses left would send calls of r + 1 guesses, be refused for free while all of them miss,
/// and be answered (revealing) exactly when one hits; if an empty bucket still answered calls without
/// misses, calls of one guess would be free and answered on every hit. So:
///
/// - level below zero (a debt): refused, nothing charged; the answer does not depend on the call's tokens,
///   so those guesses teach nothing;
/// - otherwise the call's misses are charged; it is answered if the level held them all, and refused if
///   not (its misses still charged, the debt capped at one full bucket).
///
/// Every guess whose outcome can show in an answer is thus paid for: the misses a caller learns about in
/// any span of t minutes are at most `limit` × (t + 1) plus one call's misses.
public final class MissBudget: Sendable {
    /// What a charge decided.
    public struct Charge: Sendable, Equatable {
        /// Whether the call may be answered.
        public let answered: Bool
        /// For a refused call: about when the bucket is out of debt again and holds this call's misses.
        public let retryAfterMilliseconds: Int
    }

    private let buckets = BucketsInMemory()

    public init() {}

    /// Charges `misses` (the call's `not_found` items) to `identity`'s bucket as described above.
    ///
    /// - `limit`: the identity's `misses_per_minute` (`Policy.limits(for:)`); values above
    ///   `RoleLimits.missesPerMinuteCeiling` are treated as that ceiling, and below 1 refuse everything.
    /// - `now`: injected so tests need not sleep; a time before the bucket's last update counts as no time.
    public func charge(
        identity: String,
        misses: Int,
        limit: Int,
        now: ContinuousClock.Instant = .now
    ) -> Charge {
        Self.charge(misses: misses, limit: limit) { rate, rule in
            buckets.withBucket(identity, rate: rate, now: now, rule)
        }
    }

    /// The rule of `charge`, on whichever bucket `bucket` lends: it is called with the rate (per minute) and
    /// the rule to run on the bucket refilled to now, and only when a bucket is needed at all.
    static func charge(
        misses: Int,
        limit: Int,
        to bucket: (Int64, (inout TokenBucket) -> Charge) throws -> Charge
    ) rethrows -> Charge {
        let rate = Int64(min(max(limit, 0), RoleLimits.missesPerMinuteCeiling))
        guard rate > 0 else { return Charge(answered: false, retryAfterMilliseconds: 60_000) }
        let capacity = rate * TokenBucket.unit
        // More misses than a full bucket holds are refused whatever the level and cost a full bucket of
        // debt; clamping at two buckets first keeps the product inside Int64 for any `misses`. With the ceiling, every level stays within one capacity
        // (6e16 units) of zero either way, so differences of levels cannot overflow.
        let needed = Int64(min(max(misses, 0), 2 * Int(rate))) * TokenBucket.unit

        // A call over a full bucket can never be answered; its retry time is that of a full bucket.
        let target = min(needed, capacity)

        return try bucket(rate) { bucket in
            if bucket.level < 0 {
                return Charge(answered: false, retryAfterMilliseconds: bucket.millisecondsUntil(target, rate: rate))
            }
            if bucket.level >= needed {
                bucket.level -= needed
                return Charge(answered: true, retryAfterMilliseconds: 0)
            }
            bucket.level = max(bucket.level - needed, -capacity)
            return Charge(answered: false, retryAfterMilliseconds: bucket.millisecondsUntil(target, rate: rate))
        }
    }
}
