/// Calendar dates in ISO 8601 extended form, `YYYY-MM-DD`, that exist in the proleptic Gregorian
/// calendar (leap years included), with a year from 1000 to 9999. Surrounding whitespace is trimmed;
/// the date itself is kept as given.
enum DateRules {
    static let years = 1000...9999

    static func normalize(_ value: String) throws(InvalidReason) -> String {
        let trimmed = TextRules.trimmed(value)
        guard !trimmed.isEmpty else { throw .blank }
        let bytes = Array(trimmed.utf8)
        let dash = UInt8(ascii: "-")
        let digitPositions = [0, 1, 2, 3, 5, 6, 8, 9]
        guard bytes.count == 10, bytes[4] == dash, bytes[7] == dash,
            digitPositions.allSatisfy({ TextRules.isASCIIDigit(bytes[$0]) })
        else { throw InvalidReason("is not in the form YYYY-MM-DD") }
        let year = number(bytes[0..<4])
        let month = number(bytes[5..<7])
        let day = number(bytes[8..<10])
        guard years.contains(year) else { throw InvalidReason("has a year outside 1000 to 9999") }
        guard (1...12).contains(month) else { throw InvalidReason("has a month outside 01 to 12") }
        guard (1...daysIn(month: month, year: year)).contains(day) else {
            throw InvalidReason("has a day that its month does not have")
        }
        return String(trimmed)
    }

    static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int {
        digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
}
