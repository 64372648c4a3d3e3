/// Unix seconds as RFC 3339 in UTC with whole seconds, `YYYY-MM-DDTHH:MM:SSZ`: the protocol's timestamp, the
/// audit log's `at`, and the CLI's output. Shared by the vault and the client so both write the same text.
///
/// Integer arithmetic (civil-from-days, after Howard Hinnant's algorithm) rather than an
/// `ISO8601DateFormatter`: every request writes a timestamp, and building a formatter (ICU calendar and locale
/// data) took over a quarter of the server's CPU per request.
public enum RFC3339 {
    public static func format(_ seconds: Int64) -> String {
        // Floor division without `seconds - 86_399` (which overflows near Int64.min) or `days * 86_400`
        // (which can pass Int64.min): every Int64 formats, none traps.
        let remainder = seconds % 86_400
        let days = seconds / 86_400 - (remainder < 0 ? 1 : 0)
        let secondOfDay = remainder < 0 ? remainder + 86_400 : remainder
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
            var v = value
            var buffer = [UInt8](repeating: 0x30, count: count)
            for i in stride(from: count - 1, through: 0, by: -1) {
                buffer[i] = UInt8(0x30 + v % 10)
                v /= 10
            }
            out += buffer
        }
        digits(year, max(4, String(year).count))
        out.append(0x2D)
        digits(month, 2)
        out.append(0x2D)
        digits(day, 2)
        out.append(0x54)
        digits(secondOfDay / 3600, 2)
        out.append(0x3A)
        digits(secondOfDay / 60 % 60, 2)
        out.append(0x3A)
        digits(secondOfDay % 60, 2)
        out.append(0x5A)
        return String(decoding: out, as: UTF8.self)
    }
}
