import Foundation
import VaultJSON

/// Wall-clock time in Unix seconds, injectable so tests can move time (token expiry, audit seals).
public struct VaultClock: Sendable {
    public var now: @Sendable () -> Int64
    /// The same time in Unix milliseconds: what the budgets kept in a shared store refill by
    /// (`StoredBudgets`), finer than seconds so a limit of a few a minute refills evenly.
    public var milliseconds: @Sendable () -> Int64

    /// A clock of `now`; without `milliseconds`, its milliseconds are whole seconds of `now`.
    public init(now: @escaping @Sendable () -> Int64, milliseconds: (@Sendable () -> Int64)? = nil) {
        self.now = now
        self.milliseconds =
            milliseconds ?? {
                let seconds = now()
                let (product, overflow) = seconds.multipliedReportingOverflow(by: 1000)
                return overflow ? (seconds < 0 ? .min : .max) : product
            }
    }

    public static let system = VaultClock(
        now: { Int64(Date().timeIntervalSince1970) },
        milliseconds: { Int64(Date().timeIntervalSince1970 * 1000) }
    )

    /// ISO 8601 (UTC, seconds) for audit records and output: `YYYY-MM-DDTHH:MM:SSZ` (see `RFC3339`).
    public static func iso8601(_ seconds: Int64) -> String { RFC3339.format(seconds) }

    public static func parseISO8601(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970) }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }
}
