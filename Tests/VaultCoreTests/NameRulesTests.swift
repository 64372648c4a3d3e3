import Testing

@testable import VaultCore

@Suite struct NameRulesTests {
    @Test(arguments: [
        ("  John   Doe ", "John Doe"),
        ("Mary-Jane O'Neil", "Mary-Jane O'Neil"),
        ("José\tGarcía\n López", "José García López"),
        ("Ann\u{00A0}\u{2003}Lee", "Ann Lee"),
        ("Jose\u{301}", "Jos\u{E9}"),
        ("Nguye\u{302}\u{303}n Va\u{306}n A", "Nguy\u{1EC5}n V\u{103}n A"),
        ("李小龍", "李小龍"),
        ("X Æ A-12", "X Æ A-12"),
        ("d'Artagnan\u{200D}", "d'Artagnan\u{200D}"),
    ])
    func accepts(value: String, normalized: String) {
        ValueCheck.expectNormalized(.name, value, normalized)
    }

    @Test(arguments: [
        ("   ", "is blank"),
        ("\n\t", "is blank"),
        ("12345", "has no letter"),
        ("--- ...", "has no letter"),
        ("John\u{0}Doe", "has a control character"),
        ("John\u{1B}[31mDoe", "has a control character"),
        ("John Doe\u{7F}", "has a control character"),
        ("\u{202E}eoD nhoJ", "has a control character"),
        ("John \u{2067}Doe\u{2069}", "has a control character"),
    ])
    func rejects(value: String, reason: String) {
        ValueCheck.expectRejected(.name, value, reason: reason)
    }

    @Test func lengthLimitCountsCharactersAfterComposition() {
        let longest = String(repeating: "a", count: 256)
        ValueCheck.expectNormalized(.name, longest, longest)
        // 512 scalars that compose to 256 characters.
        ValueCheck.expectNormalized(
            .name,
            String(repeating: "e\u{301}", count: 256),
            String(repeating: "\u{E9}", count: 256)
        )
        ValueCheck.expectRejected(.name, longest + "a", reason: "is 257 characters long; names are at most 256")
    }
}
