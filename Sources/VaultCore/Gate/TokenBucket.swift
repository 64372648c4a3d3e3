/// One identity's token bucket, shared by `RevealRateLimiter` and `MissBudget`: a level that refills
/// continuously at `rate` per minute up to a capacity of `rate` (the burst).
///
/// Levels are kept in integers, in units of 1/60,000,000,000 of an item (a minute in nanoseconds), so that
/// refilling at `rate` per minute adds exactly `rate` units per elapsed nanosecond: no floating-point drift,
/// and counts that tests can assert exactly with an injected `now`. A level may be negative (a debt) where
/// the owner allows it; `refill` works the same from below zero.
struct TokenBucket {
    /// One item, in bucket units.
    static let unit: Int64 = 60_000_000_000

    /// Items available, times `unit`.
    var level: Int64
    var updated: ContinuousClock.Instant

    static func full(rate: Int64, now: ContinuousClock.Instant) -> TokenBucket {
        TokenBucket(level: rate * unit, updated: now)
    }

    /// Adds what `rate` per minute has refilled since the last update, up to the capacity. A time before the
    /// last update counts as no time, and a lower rate (after a policy reload) applies at once.
    ///
    /// `rate` must be at most the largest ceiling of `RoleLimits` (1e8), and the level at least minus one
    /// capacity: a bucket refills completely within a minute, so longer gaps are cut to one, which keeps
    /// `elapsed * rate` below 6e18, inside Int64.
    mutating func refill(rate: Int64, now: ContinuousClock.Instant) {
        let capacity = rate * Self.unit
        if now > updated {
            let elapsed = min(updated.duration(to: now), .seconds(60))
            // At most 60 s, so its nanoseconds fit Int64 with room to spare.
            let nanoseconds = Int64(elapsed.attoseconds / 1_000_000_000)
            let refill = nanoseconds * rate
            level = refill >= capacity - level ? capacity : level + refill
            updated = now
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
