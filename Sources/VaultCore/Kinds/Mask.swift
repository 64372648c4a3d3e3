/// Partial reveals of normalized values, for callers allowed to see "which one" but not the value.
///
/// Each mask shows only what is customary to show (the last four digits of a card, SSN or phone; an
/// email's first character and domain; initials; a birth year) and keeps the value's length only where
/// that length is already public by the kind's format. Address and text masks are a fixed string, so
/// they do not even leak a length. A value not in its kind's normalized form is masked completely, never
/// shown more.
public enum Mask {
    /// The mask of free-form kinds, and the fallback for a value not in its normalized form.
    public static let redacted = "[redacted]"

    public static func mask(_ normalized: String, kind: Kind) -> String {
        switch kind {
        case .card: card(normalized)
        case .ssn: ssn(normalized)
        case .phone: phone(normalized)
        case .email: email(normalized)
        case .name: initials(normalized)
        case .date: year(normalized)
        case .address, .text: redacted
        }
    }

    /// All digits but the last four as `*`: `************1111`.
    private static func card(_ value: String) -> String {
        let bytes = Array(value.utf8)
        guard CardRules.digitCounts.contains(bytes.count), bytes.allSatisfy(TextRules.isASCIIDigit) else {
            return redacted
        }
        return String(repeating: "*", count: bytes.count - 4) + String(decoding: bytes.suffix(4), as: UTF8.self)
    }

    /// `***-**-6789`.
    private static func ssn(_ value: String) -> String {
        let bytes = Array(value.utf8)
        guard bytes.count == 11, bytes.suffix(4).allSatisfy(TextRules.isASCIIDigit) else { return "***-**-****" }
        return "***-**-" + String(decoding: bytes.suffix(4), as: UTF8.self)
    }

    /// `+` then `*` for all but the last four digits: `+*******2671`.
    private static func phone(_ value: String) -> String {
        let bytes = Array(value.utf8)
        let digits = bytes.dropFirst()
        guard bytes.first == UInt8(ascii: "+"), PhoneRules.digitCounts.contains(digits.count),
            digits.allSatisfy(TextRules.isASCIIDigit)
        else { return redacted }
        return "+" + String(repeating: "*", count: digits.count - 4) + String(decoding: digits.suffix(4), as: UTF8.self)
    }

    /// The local part's first character, `***@`, and the domain: `a***@example.com`. The stars are a fixed
    /// three, whatever the local part's length.
    private static func email(_ value: String) -> String {
        guard let at = value.firstIndex(of: "@"), at != value.startIndex else { return redacted }
        return String(value[value.startIndex]) + "***" + value[at...]
    }

    /// The first character of each word and a dot: `J. D.`
    private static func initials(_ value: String) -> String {
        let initials = value.split(separator: " ").compactMap { $0.first.map { "\($0)." } }
        return initials.isEmpty ? redacted : initials.joined(separator: " ")
    }

    /// The year alone: `1987`.
    private static func year(_ value: String) -> String {
        let bytes = Array(value.utf8)
        guard bytes.count == 10, bytes.prefix(4).allSatisfy(TextRules.isASCIIDigit) else { return redacted }
        return String(decoding: bytes.prefix(4), as: UTF8.self)
    }
}
