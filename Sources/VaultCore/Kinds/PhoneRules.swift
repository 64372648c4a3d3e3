/// Telephone numbers, normalized to E.164: "+" and 8 to 15 digits, the first not 0.
///
/// Accepted input: "+" then digits, optionally split by spaces, dashes, dots and one level of
/// parentheses; or, without "+", a 10-digit North American (NANP) number, taken as +1, or 11 digits
/// starting with 1. Extensions and letters (vanity numbers) are rejected.
enum PhoneRules {
    static let digitCounts = 8...15

    /// Country code 999 is reserved by the ITU and never assigned, so no real number has it. cvault's
    /// format-preserving phone tokens start with +999; rejecting it here means a token can never be taken
    /// for a real number and tokenized again as one.
    static let reservedCountryCode: [UInt8] = [9, 9, 9]

    static func normalize(_ value: String) throws(InvalidReason) -> String {
        let trimmed = TextRules.trimmed(value)
        guard !trimmed.isEmpty else { throw .blank }
        let international = trimmed.unicodeScalars.first == "+"
        let body = international ? trimmed.unicodeScalars.dropFirst() : trimmed.unicodeScalars[...]
        var digits = try digitsIgnoringSeparators(body)
        if !international { digits = try withNANPCountryCode(digits) }
        guard digitCounts.contains(digits.count) else {
            throw InvalidReason("has \(digits.count) digits; international numbers have 8 to 15 (E.164)")
        }
        guard digits[0] != 0 else { throw InvalidReason("has a country code starting with 0") }
        guard !digits.starts(with: reservedCountryCode) else {
            throw InvalidReason("has a country code that the ITU reserves and never assigns")
        }
        if digits[0] == 1 { try checkNANP(digits) }
        return "+" + String(decoding: digits.map { $0 + 0x30 }, as: UTF8.self)
    }

    private static func digitsIgnoringSeparators(
        _ scalars: Substring.UnicodeScalarView
    ) throws(InvalidReason) -> [UInt8] {
        var digits: [UInt8] = []
        var open = false
        for scalar in scalars {
            switch scalar {
            case "0"..."9": digits.append(UInt8(scalar.value - 0x30))
            case " ", "-", ".": continue
            case "(":
                guard !open else { throw InvalidReason("has nested parentheses") }
                open = true
            case ")":
                guard open else { throw InvalidReason("has a ')' without a matching '('") }
                open = false
            case "+": throw InvalidReason("has a '+' that is not at the start")
            default:
                throw InvalidReason(
                    "has a character other than digits, a leading '+', spaces, dashes, dots and parentheses"
                )
            }
        }
        guard !open else { throw InvalidReason("has a '(' without a matching ')'") }
        guard !digits.isEmpty else { throw InvalidReason("has no digits") }
        return digits
    }

    /// A number written without "+" is taken as North American: 10 digits, or 11 starting with 1.
    private static func withNANPCountryCode(_ digits: [UInt8]) throws(InvalidReason) -> [UInt8] {
        switch digits.count {
        case 10: return [1] + digits
        case 11 where digits[0] == 1: return digits
        default:
            throw InvalidReason(
                "has \(digits.count) digits and no '+'; write it as '+' and the country code, or give a 10-digit North American number"
            )
        }
    }

    /// +1 numbers are NANP: a 3-digit area code and 3-digit exchange, each starting 2 to 9, then 4 digits.
    private static func checkNANP(_ digits: [UInt8]) throws(InvalidReason) {
        guard digits.count == 11 else {
            throw InvalidReason(
                "is a +1 (North American) number with \(digits.count - 1) digits after the country code; those have 10"
            )
        }
        guard digits[1] >= 2 else { throw InvalidReason("has a North American area code starting with 0 or 1") }
        guard digits[4] >= 2 else { throw InvalidReason("has a North American exchange code starting with 0 or 1") }
    }
}
