/// US Social Security numbers: "ddd-dd-dddd" or nine digits, normalized to "ddd-dd-dddd".
///
/// The Social Security Administration never issues area 000, 666 or 900–999, group 00 or serial 0000
/// (SSA, "Social Security Number Randomization", 2011). Since randomization there are no other structural
/// rules. cvault's format-preserving SSN tokens use area 9xx, so this check also keeps a token from being
/// accepted as a real number.
enum SSNRules {
    static func normalize(_ value: String) throws(InvalidReason) -> String {
        let trimmed = TextRules.trimmed(value)
        guard !trimmed.isEmpty else { throw .blank }
        let digits = try digitsOfAcceptedForm(Array(trimmed.utf8))
        let area = number(digits[0..<3])
        let group = number(digits[3..<5])
        let serial = number(digits[5..<9])
        // One message for all never-issued areas, so the error does not tell which one the value had.
        guard area != 0, area != 666, area < 900 else {
            throw InvalidReason(
                "has an area number (first three digits) of 000, 666 or 900 to 999, which are never issued"
            )
        }
        guard group != 0 else { throw InvalidReason("has group number (middle two digits) 00, which is never issued") }
        guard serial != 0 else {
            throw InvalidReason("has serial number (last four digits) 0000, which is never issued")
        }
        let text = digits.map { Character(Unicode.Scalar($0 + 0x30)) }
        return String(text[0..<3]) + "-" + String(text[3..<5]) + "-" + String(text[5..<9])
    }

    /// The nine digit values of "ddd-dd-dddd" or "ddddddddd".
    private static func digitsOfAcceptedForm(_ bytes: [UInt8]) throws(InvalidReason) -> [UInt8] {
        let dash = UInt8(ascii: "-")
        let digits: [UInt8]
        if bytes.count == 11, bytes[3] == dash, bytes[6] == dash {
            digits = Array(bytes[0..<3] + bytes[4..<6] + bytes[7..<11])
        } else {
            digits = bytes
        }
        guard digits.count == 9, digits.allSatisfy(TextRules.isASCIIDigit) else {
            throw InvalidReason("is not in the form ddd-dd-dddd or ddddddddd")
        }
        return digits.map { $0 - 0x30 }
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int {
        digits.reduce(0) { $0 * 10 + Int($1) }
    }
}
