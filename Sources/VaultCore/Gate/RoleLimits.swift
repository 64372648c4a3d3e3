/// A role's limits (the optional `limits:` key of a role).
public struct RoleLimits: Sendable, Equatable, CustomStringConvertible {
    /// The most tokens in one detokenize call, and the most values in one tokenize call.
    public let maxBatch: Int
    /// Values revealed (plain or masked) per identity per minute, as a token bucket whose burst is this
    /// figure; nil means unlimited.
    public let revealsPerMinute: Int?
    /// Detokenize misses (`not_found` items) per identity per minute, as a token bucket whose burst is this
    /// figure (`MissBudget`). Never unlimited: a miss is what a guess at a token costs, and format-preserving
    /// tokens live in small spaces (an SSN token has 10^8), so free misses would let any identity with a
    /// reveal rule sweep them for customers it was never given.
    public let missesPerMinute: Int

    public init(maxBatch: Int, revealsPerMinute: Int?, missesPerMinute: Int = defaultMissesPerMinute) {
        self.maxBatch = maxBatch
        self.revealsPerMinute = revealsPerMinute
        self.missesPerMinute = missesPerMinute
    }

    /// What a role gets for keys it leaves out: batches of up to 1000, reveals unlimited, 60 misses a
    /// minute. The batch cap bounds the work of one request; reveal rates are a deliberate choice per role,
    /// so they are not guessed at; misses are limited by default (default deny), since a legitimate service
    /// rarely holds a token the vault does not know (one whose subject was erased, one that expired) while
    /// a guesser misses nearly every time. docs/POLICY.md weighs the figure.
    public static let defaults = RoleLimits(maxBatch: defaultMaxBatch, revealsPerMinute: nil)
    public static let defaultMaxBatch = 1000
    public static let defaultMissesPerMinute = 60

    /// The largest figures a policy may set. Beyond them a limit means nothing in practice (leave
    /// `reveals_per_minute` out for unlimited), and the bounds keep the token buckets' fixed-point
    /// arithmetic far from overflow.
    public static let maxBatchCeiling = 1_000_000
    public static let revealsPerMinuteCeiling = 100_000_000
    /// Lower than the others because a miss bucket may fall into debt by a whole bucket, and twice a full
    /// bucket must still fit the arithmetic; a million misses a minute is already no limit at all.
    public static let missesPerMinuteCeiling = 1_000_000

    /// The most generous of two limits: the larger batch, the faster (or unlimited) reveal rate and the larger
    /// miss budget. An identity with several roles gets the combination of all of them, as it gets the union
    /// of their grants.
    public func mostGenerous(_ other: RoleLimits) -> RoleLimits {
        let rate: Int? =
            switch (revealsPerMinute, other.revealsPerMinute) {
            case let (a?, b?): max(a, b)
            default: nil
            }
        return RoleLimits(
            maxBatch: max(maxBatch, other.maxBatch),
            revealsPerMinute: rate,
            missesPerMinute: max(missesPerMinute, other.missesPerMinute)
        )
    }

    public var description: String {
        "max_batch \(maxBatch), reveals_per_minute \(revealsPerMinute.map(String.init) ?? "unlimited"), "
            + "misses_per_minute \(missesPerMinute)"
    }
}
