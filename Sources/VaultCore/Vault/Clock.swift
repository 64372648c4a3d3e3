import Foundation
import VaultJSON

/// Wall-clock time in Unix seconds, injectable so tests can move time (token expiry, audit seals).
public struct VaultClock: Sendable {
    public var now: @Sendable () -> Int64
    public init(now: @escaping @Sendable () -> Int64) { self.now = now }
    public static let system = VaultClock { Int64(Date().timeIntervalSince1970) }

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
