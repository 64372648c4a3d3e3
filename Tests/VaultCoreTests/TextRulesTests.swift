import Testing

@testable import VaultCore

@Suite struct TextRulesTests {
    @Test(arguments: [
        "hello",
        "  kept exactly, spaces and all  ",
        " ",
        "\n",
        "e\u{301} stays decomposed",
        "emoji 👩🏽‍💻 and \u{0} bytes",
    ])
    func keepsTextUnchanged(value: String) {
        ValueCheck.expectNormalized(.text, value, value)
    }

    @Test func acceptsExactlyTheLimit() {
        let value = String(repeating: "z", count: Kind.maxValueBytes)
        ValueCheck.expectNormalized(.text, value, value)
    }
}
