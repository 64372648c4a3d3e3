import Testing

@testable import VaultCore

@Suite struct PhoneRulesTests {
    @Test(arguments: [
        ("+1 (415) 555-2671", "+14155552671"),
        ("(415) 555-2671", "+14155552671"),
        ("415.555.2671", "+14155552671"),
        ("4155552671", "+14155552671"),
        ("1-415-555-2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49-30-901820", "+4930901820"),
        ("+81 3-1234-5678", "+81312345678"),
        ("  +33 1 23 45 67 89 ", "+33123456789"),
        ("+86 123 4567 890 123", "+861234567890123"),
        ("+682 12345", "+68212345"),
    ])
    func accepts(value: String, normalized: String) {
        ValueCheck.expectNormalized(.phone, value, normalized)
    }

    @Test(arguments: [
        ("+1 415 555 267", "+1 (North American) number with 9 digits after the country code"),
        ("+1 (115) 555-2671", "area code starting with 0 or 1"),
        ("(015) 555-2671", "area code starting with 0 or 1"),
        ("+1 415 155 2671", "exchange code starting with 0 or 1"),
        ("415-555-267", "has 9 digits and no '+'"),
        ("24155552671", "has 11 digits and no '+'"),
        ("415555267x", "character other than digits"),
        ("+44 20 7946 0958 ext 12", "character other than digits"),
        ("+1 ４１５ 555 2671", "character other than digits"),
        ("+0 123 456 789", "country code starting with 0"),
        ("+1234567", "has 7 digits; international numbers have 8 to 15"),
        ("+1234567890123456", "has 16 digits; international numbers have 8 to 15"),
        ("+999 1234 5678", "ITU reserves and never assigns"),
        ("+44 (20 7946 0958", "'(' without a matching ')'"),
        ("+44 20) 7946 0958", "')' without a matching '('"),
        ("+44 ((20)) 7946 0958", "nested parentheses"),
        ("44+20 7946 0958", "'+' that is not at the start"),
        ("+", "has no digits"),
        ("+ - .", "has no digits"),
        ("  ", "is blank"),
    ])
    func rejects(value: String, reason: String) {
        ValueCheck.expectRejected(.phone, value, reason: reason)
    }
}
