/// A role's limits (the optional `limits:` key of a role).
public struct RoleLimits: Sendable, Equatable, CustomStringConvertible {
    /// The most tokens in one detokenize call, and the most values in one tokenize call.
    public let maxBatch: Int
    /// Values revealed (plain or masked) per identity per minute, as a token bucket whose burst is this
    /// figure; nil means unlimited.
    public let revealsPerMinute: Int?

    public init(maxBatch: Int, revealsPerMinute: Int?) {
        self.maxBatch = maxBatch
        self.revealsPerMinute = revealsPerMinute
    }

    /// What a role gets for keys it leaves out: batches of up to 1000, reveals unlimited. The batch cap
    /// bounds the work of one request; reveal rates are a deliberate choice per role, so they are not
    /// guessed at.
    public static let defaults = RoleLimits(maxBatch: defaultMaxBatch, revealsPerMinute: nil)
    public static let defaultMaxBatch = 1000

    /// The largest figures a policy may set. Beyond them a limit means nothing in practice (leave
    /// `reveals_per_minute` out for unlimited), and the bounds keep the rate limiter's fixed-point
    /// arithmetic far from overflow.
    public static let maxBatchCeiling = 1_000_000
    public static let revealsPerMinuteCeiling = 100_000_000

    /// The most generous of two limits: the larger batch, and the faster (or unlimited) reveal rate. An
    /// identity with several roles gets the combination of all of them, as it gets the union of their grants.
    public func mostGenerous(_ other: RoleLimits) -> RoleLimits {
        let rate: Int? = switch (revealsPerMinute, other.revealsPerMinute) {
        case let (a?, b?): max(a, b)
        default: nil
        }
        return RoleLimits(maxBatch: max(maxBatch, other.maxBatch), revealsPerMinute: rate)
    }

    public var description: String {
        "max_batch \(maxBatch), reveals_per_minute \(revealsPerMinute.map(String.init) ?? "unlimited")"
    }
}
