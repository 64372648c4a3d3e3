/// The Luhn (mod 10) check used by payment card numbers (ISO/IEC 7812-1).
///
/// It catches every single-digit error and most swaps of adjacent digits; it is not a security check.
public enum Luhn {
    /// True when `digits` is two or more ASCII digits (a payload and its check digit) whose Luhn sum is a
    /// multiple of 10. Anything else, including an empty string, is not valid.
    public static func isValid(_ digits: some StringProtocol) -> Bool {
        guard let values = digitValues(digits), values.count >= 2 else { return false }
        return sum(values, doublingRightmost: false) % 10 == 0
    }

    /// The check digit to append to `payload` so that the whole is valid; nil unless `payload` is one or
    /// more ASCII digits.
    public static func checkDigit(for payload: some StringProtocol) -> Character? {
        guard let values = digitValues(payload), !values.isEmpty else { return nil }
        let digit = (10 - sum(values, doublingRightmost: true) % 10) % 10
        return Character(Unicode.Scalar(UInt8(0x30 + digit)))
    }

    /// True when the digit values (0...9) pass the check; for callers that already hold digits.
    static func isValid(digits: [UInt8]) -> Bool {
        digits.count >= 2 && sum(digits, doublingRightmost: false) % 10 == 0
    }

    /// The Luhn sum: from the right, every second digit is doubled (and 9 subtracted when over 9). With a
    /// check digit present the rightmost is not doubled; for a bare payload it is.
    static func sum(_ digits: [UInt8], doublingRightmost: Bool) -> Int {
        var total = 0
        var double = doublingRightmost
        for digit in digits.reversed() {
            let value = Int(digit)
            total += double ? (value < 5 ? value * 2 : value * 2 - 9) : value
            double.toggle()
        }
        return total
    }

    /// The values of `text`'s characters, or nil if any is not an ASCII digit.
    static func digitValues(_ text: some StringProtocol) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            guard TextRules.isASCIIDigit(byte) else { return nil }
            values.append(byte - 0x30)
        }
        return values
    }
}
