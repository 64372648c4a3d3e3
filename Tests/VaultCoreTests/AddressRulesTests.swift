import Testing

@testable import VaultCore

@Suite struct AddressRulesTests {
    @Test(arguments: [
        ("  1 Main   St \r\n\r\n Springfield,  IL 62701 \n", "1 Main St\nSpringfield, IL 62701"),
        ("10\tDowning Street\nLondon SW1A 2AA", "10 Downing Street\nLondon SW1A 2AA"),
        ("Line one\u{2028}Line two\u{2029}Line three", "Line one\nLine two\nLine three"),
        ("Calle Mayor 5\rMadrid", "Calle Mayor 5\nMadrid"),
        ("Rue de l'E\u{301}glise", "Rue de l'\u{C9}glise"),
        ("東京都千代田区千代田1-1", "東京都千代田区千代田1-1"),
    ])
    func accepts(value: String, normalized: String) {
        ValueCheck.expectNormalized(.address, value, normalized)
    }

    @Test(arguments: [
        (" \n \t \r\n", "is blank"),
        ("1 Main St\u{0}", "has a control character (only line breaks are allowed)"),
        ("1 Main St\u{1B}", "has a control character"),
        ("\u{202D}1 Main St", "has a control character"),
    ])
    func rejects(value: String, reason: String) {
        ValueCheck.expectRejected(.address, value, reason: reason)
    }

    @Test func lengthLimitCountsCharactersAndLineBreaks() {
        let longest = String(repeating: "x", count: 1024)
        ValueCheck.expectNormalized(.address, longest, longest)
        // 512 one-character lines: 512 characters and 511 line breaks.
        let lines = Array(repeating: "é", count: 512)
        ValueCheck.expectNormalized(.address, lines.joined(separator: "\r\n") + "\r\n", lines.joined(separator: "\n"))
        let tooLong = "is 1025 characters long; addresses are at most 1024"
        ValueCheck.expectRejected(.address, longest + "x", reason: tooLong)
        ValueCheck.expectRejected(.address, String(repeating: "x\n", count: 513), reason: tooLong)
    }
}
