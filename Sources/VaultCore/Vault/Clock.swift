import Foundation

/// Wall-clock time in Unix seconds, injectable so tests can move time (token expiry, audit seals).
public struct VaultClock: Sendable {
    public var now: @Sendable () -> Int64
    public init(now: @escaping @Sendable () -> Int64) { self.now = now }
    public static let system = VaultClock { Int64(Date().timeIntervalSince1970) }

    /// ISO 8601 (UTC, seconds) for audit records and output: `YYYY-MM-DDTHH:MM:SSZ`.
    ///
    /// Computed with integer arithmetic (civil-from-days, after Howard Hinnant's algorithm) instead of an
    /// `ISO8601DateFormatter`: every request writes an audit record with a timestamp, and building a
    /// formatter (ICU calendar and locale data) took over a quarter of the server's CPU time per request.
    public static func iso8601(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var out: [UInt8] = []
        out.reserveCapacity(20)
        func digits(_ value: Int64, _ count: Int) {
            var v = value, buffer = [UInt8](repeating: 0x30, count: count)
            for i in stride(from: count - 1, through: 0, by: -1) { buffer[i] = UInt8(0x30 + v % 10); v /= 10 }
            out += buffer
        }
        digits(year, 4); out.append(0x2D); digits(month, 2); out.append(0x2D); digits(day, 2); out.append(0x54)
        digits(secondOfDay / 3600, 2); out.append(0x3A); digits(secondOfDay / 60 % 60, 2); out.append(0x3A)
        digits(secondOfDay % 60, 2); out.append(0x5A)
        return String(decoding: out, as: UTF8.self)
    }

    public static func parseISO8601(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970) }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }
}
