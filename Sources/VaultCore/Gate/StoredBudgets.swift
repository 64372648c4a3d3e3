/// The budgets of a vault whose store several processes share (`VaultStore.sharedByProcesses`): each
/// identity's `reveals_per_minute` and `misses_per_minute` buckets are rows of the store, read and put back
/// in the write that records the detokenize call's audit record. The store serializes those writes
/// (`StoreWriter.bucket`), so every server's take sees every other's: the limits hold across all servers
/// exactly as one process's in-memory buckets hold for it, under the same rules.
///
/// The buckets refill on wall-clock Unix milliseconds (a monotonic clock means nothing on another host), and a
/// bucket's time only moves forward: a host whose clock runs behind refills nothing until it catches up, so
/// a skew between hosts can never refill a bucket more than once.
struct StoredBudgets: Budgets {
    let writer: any StoreWriter
    /// The write's time, in Unix milliseconds.
    let now: Int64

    func chargeMisses(identity: String, misses: Int, limit: Int) throws -> MissBudget.Charge {
        try MissBudget.charge(misses: misses, limit: limit) { rate, rule in
            try withBucket(Self.key(misses: identity), rate: rate, rule)
        }
    }

    func takeReveals(identity: String, count: Int, limit: Int) throws -> Bool {
        try RevealRateLimiter.take(count: count, limit: limit) { rate, rule in
            try withBucket(Self.key(reveals: identity), rate: rate, rule)
        }
    }

    /// The store's keys: one namespace per budget, the identity's name after it.
    static func key(misses identity: String) -> String { "misses_per_minute:" + identity }
    static func key(reveals identity: String) -> String { "reveals_per_minute:" + identity }

    /// The most milliseconds a refill counts (`TokenBucket.longestGap`).
    private static let longestGap: Int64 = TokenBucket.longestGap / 1_000_000

    /// Runs `rule` on the bucket under `key` (full if there is none yet), refilled to `now`, and puts back what
    /// it left when that changes anything a later refill would compute.
    ///
    /// Not put back: a bucket the rule left as refilled, whose stored level lay between zero and the
    /// capacity. Refilling is then a function of the time since the stored one alone (from zero or more, a
    /// minute fills any bucket, so the one-minute cut never bites), and this spares every call without misses
    /// a row write. Put back: any charge; a debt being paid off (from below zero the cut does bite, so the
    /// refill must be anchored at now); and a level cut to a lowered rate's capacity.
    private func withBucket<Result>(
        _ key: String,
        rate: Int64,
        _ rule: (inout TokenBucket) -> Result
    ) throws -> Result {
        let stored = try writer.bucket(key)
        let capacity = rate * TokenBucket.unit
        var bucket = TokenBucket.full(rate: rate)
        var updatedAt = now
        if let stored {
            // The row is the store's word: bounded before any arithmetic, so no level or time in it can make
            // the refill overflow.
            bucket.level = min(max(stored.level, -capacity), capacity)
            updatedAt = stored.updatedAt
            if now > stored.updatedAt {
                let (gap, overflow) = now.subtractingReportingOverflow(stored.updatedAt)
                let milliseconds = overflow ? Self.longestGap : min(gap, Self.longestGap)
                bucket.refill(rate: rate, nanoseconds: milliseconds * 1_000_000)
                updatedAt = now
            } else {
                bucket.refill(rate: rate, nanoseconds: 0)
            }
        }
        let refilled = bucket
        let result = rule(&bucket)
        let settled = stored.map { (0...capacity).contains($0.level) } ?? true
        let next = StoredBucket(level: bucket.level, updatedAt: updatedAt)
        if next != stored, bucket != refilled || !settled { try writer.putBucket(key, next) }
        return result
    }
}
