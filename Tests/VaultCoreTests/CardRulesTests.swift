import Testing

@testable import VaultCore

@Suite struct CardRulesTests {
    @Test(arguments: [
        ("4111 1111 1111 1111", "4111111111111111"),
        ("4111-1111-1111-1111", "4111111111111111"),
        ("  5555555555554444 ", "5555555555554444"),
        ("3782 822463 10005", "378282246310005"),
        ("123456789015", "123456789015"),
        ("4000000000000000006", "4000000000000000006"),
    ])
    func accepts(value: String, normalized: String) {
        ValueCheck.expectNormalized(.card, value, normalized)
    }

    @Test(arguments: [
        ("4111111111111112", "fails the Luhn check"),
        ("4111 1111 1111 1121", "fails the Luhn check"),
        ("41111111111", "has 11 digits; cards have 12 to 19"),
        ("41111111111111111111", "has 20 digits; cards have 12 to 19"),
        ("- - -", "has 0 digits; cards have 12 to 19"),
        ("4111 1111 1111 111a", "character other than digits, spaces and dashes"),
        ("4111.1111.1111.1111", "character other than digits, spaces and dashes"),
        ("4111\t1111 1111 1111", "character other than digits, spaces and dashes"),
        ("٤١١١١١١١١١١١١١١١", "character other than digits, spaces and dashes"),
        ("  ", "is blank"),
    ])
    func rejects(value: String, reason: String) {
        ValueCheck.expectRejected(.card, value, reason: reason)
    }
}
