/// The rules a tokenize call's limits must meet (docs/PROTOCOL.md §6.1), checked here only: the socket and
/// the CLI parse the limits' types (each purpose a `Purpose`, the expiry a time, the count an integer) and the
/// vault checks the rest with `check(now:)`, against its own clock.
extension TokenLimits {
    /// The most purposes one set of limits may name.
    public static let maxPurposes = 32
    /// The reveal counts a token may be born with.
    public static let maxRevealsRange = 1...Int(Int32.max)

    /// Refuses limits that could never be met or that break a bound, with `.invalidRequest` naming the
    /// field at fault (`limits.purposes`, `limits.expires_at`, `limits.max_reveals`). `now` is the vault's
    /// clock: an expiry is in the future by the time the vault keeps, not by the caller's or the server's.
    func check(now: Int64) throws(VaultError) {
        if let purposes {
            guard !purposes.isEmpty else {
                throw .invalidRequest(
                    "limits.purposes is empty, so the token could never be revealed",
                    hint: "name at least one purpose, or leave purposes out",
                    field: .limitsPurposes
                )
            }
            guard purposes.count <= Self.maxPurposes else {
                throw .invalidRequest(
                    "limits.purposes names \(purposes.count) purposes; at most \(Self.maxPurposes) are allowed",
                    hint: "name fewer purposes",
                    field: .limitsPurposes
                )
            }
        }
        if let expiresAt, expiresAt <= now {
            throw .invalidRequest(
                "limits.expires_at is not in the future",
                hint: "send a later time",
                field: .limitsExpiresAt
            )
        }
        if let maxReveals, !Self.maxRevealsRange.contains(maxReveals) {
            throw .invalidRequest(
                "limits.max_reveals must be an integer from 1 to \(Self.maxRevealsRange.upperBound)",
                hint: "send 1 or more, or leave it out",
                field: .limitsMaxReveals
            )
        }
    }
}
