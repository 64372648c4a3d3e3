/// Payment card numbers (PANs): 12 to 19 digits that pass the Luhn check, normalized to the digits alone.
/// Spaces and dashes between digit groups are dropped; any other character is rejected.
enum CardRules {
    static let digitCounts = 12...19  // ISO/IEC 7812-1 allows up to 19; no network issues fewer than 12

    static func normalize(_ value: String) throws(InvalidReason) -> String {
        let trimmed = TextRules.trimmed(value)
        guard !trimmed.isEmpty else { throw .blank }
        var digits: [UInt8] = []
        for byte in trimmed.utf8 where byte != UInt8(ascii: " ") && byte != UInt8(ascii: "-") {
            guard TextRules.isASCIIDigit(byte) else {
                throw InvalidReason("has a character other than digits, spaces and dashes")
            }
            digits.append(byte)
        }
        guard digitCounts.contains(digits.count) else {
            throw InvalidReason("has \(digits.count) digits; cards have 12 to 19")
        }
        let normalized = String(decoding: digits, as: UTF8.self)
        guard Luhn.isValid(normalized) else {
            throw InvalidReason("fails the Luhn check (a digit is mistyped, missing or swapped)")
        }
        return normalized
    }
}
