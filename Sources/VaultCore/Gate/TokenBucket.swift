import Synchronization

/// One identity's token bucket, shared by `RevealRateLimiter` and `MissBudget`: a level that refills
/// continuously at `rate` per minute up to a capacity of `rate` (the burst).
///
/// Levels are kept in integers, in units of 1/60,000,000,000 of an item (a minute in nanoseconds), so that
/// refilling at `rate` per minute adds exactly `rate` units per elapsed nanosecond: no floating-point drift,
/// and counts that tests can assert exactly with an injected `now`. A level may be negative (a debt) where
/// the owner allows it; `refill` works the same from below zero.
///
/// The bucket holds no time: its owner keeps when it was last refilled, on the clock that fits where the
/// bucket lives (`BucketsInMemory`: this process's monotonic clock; `StoredBudgets`: wall-clock milliseconds,
/// which every host sharing the store agrees on), and tells `refill` how long it has been.
struct TokenBucket: Equatable {
    /// One item, in bucket units.
    static let unit: Int64 = 60_000_000_000

    /// The longest gap a refill counts: a bucket refills completely within a minute.
    static let longestGap: Int64 = 60_000_000_000

    /// Items available, times `unit`.
    var level: Int64

    static func full(rate: Int64) -> TokenBucket { TokenBucket(level: rate * unit) }

    /// Adds what `rate` per minute refills in `nanoseconds`, up to the capacity. No time (or a negative one)
    /// adds nothing, and a lower rate (after a policy reload) applies at once.
    ///
    /// `rate` must be at most the largest ceiling of `RoleLimits` (1e8): gaps longer than a minute are cut to
    /// one, which keeps `nanoseconds * rate` at most one capacity (6e18), inside Int64. Any level works: the
    /// comparison subtracts the refill from the capacity (both at least zero, the refill at most the
    /// capacity), and the sum is taken only when it stays below the capacity.
    mutating func refill(rate: Int64, nanoseconds: Int64) {
        let capacity = rate * Self.unit
        if nanoseconds > 0 {
            let refill = min(nanoseconds, Self.longestGap) * rate
            level = level >= capacity - refill ? capacity : level + refill
        }
        level = min(level, capacity)
    }

    /// How long `rate` per minute takes to bring the level up to `target` units (at least 1 ms).
    func millisecondsUntil(_ target: Int64, rate: Int64) -> Int {
        guard target > level, rate > 0 else { return 1 }
        // `rate` units arrive per nanosecond, so 1e6 * rate per millisecond; the quotient is at most two
        // capacities' worth of milliseconds (2 minutes), far inside Int.
        let perMillisecond = rate * 1_000_000
        return max(1, Int((target - level + perMillisecond - 1) / perMillisecond))
    }
}

/// Token buckets by identity in this process's memory, each refilled on the process's monotonic clock: where a
/// vault whose store no other process shares keeps its budgets (`BudgetPlace.process`).
///
/// One lock guards every bucket. A take is a few integer operations, far cheaper than the decryption each
/// reveal costs, so the lock is never the bottleneck and splitting it would buy nothing.
final class BucketsInMemory: Sendable {
    private struct Entry {
        var bucket: TokenBucket
        var updated: ContinuousClock.Instant
    }

    // Keyed by identity name. Identities come only from the policy, so the map stays as small as the
    // policy's list (plus any removed by a reload, whose buckets are kept until the process ends: a few
    // bytes each, and keeping them means removing and re-adding an identity cannot refill its bucket).
    private let buckets = Mutex<[String: Entry]>([:])

    /// Runs `rule` on `identity`'s bucket (full if it has none yet), refilled to `now`, and keeps what it
    /// left. A time before the bucket's last update counts as no time.
    func withBucket<Result>(
        _ identity: String,
        rate: Int64,
        now: ContinuousClock.Instant,
        _ rule: (inout TokenBucket) -> Result
    ) -> Result {
        buckets.withLock { buckets in
            var entry = buckets[identity] ?? Entry(bucket: .full(rate: rate), updated: now)
            if now > entry.updated {
                let elapsed = min(entry.updated.duration(to: now), .seconds(60))
                // At most 60 s, so its nanoseconds fit Int64 with room to spare.
                entry.bucket.refill(rate: rate, nanoseconds: Int64(elapsed.attoseconds / 1_000_000_000))
                entry.updated = now
            } else {
                entry.bucket.refill(rate: rate, nanoseconds: 0)
            }
            defer { buckets[identity] = entry }
            return rule(&entry.bucket)
        }
    }
}
