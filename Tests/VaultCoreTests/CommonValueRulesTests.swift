import Testing

@testable import VaultCore

/// Rules every kind shares: no empty value, none over `Kind.maxValueBytes`, and errors that carry the
/// batch index but never the value.
@Suite struct CommonValueRulesTests {
    @Test(arguments: Kind.allCases)
    func rejectsEmpty(kind: Kind) {
        ValueCheck.expectRejected(kind, "", reason: "is empty")
    }

    @Test(arguments: Kind.allCases)
    func rejectsOversized(kind: Kind) {
        let value = String(repeating: "ab", count: Kind.maxValueBytes / 2) + "c"
        ValueCheck.expectRejected(kind, value, reason: "is 65537 bytes; values are limited to 65536 bytes")
    }

    @Test(arguments: Kind.allCases)
    func countsBytesNotCharacters(kind: Kind) {
        // 21,846 three-byte characters: under the limit in characters, over it in bytes.
        let value = String(repeating: "€", count: Kind.maxValueBytes / 3 + 1)
        ValueCheck.expectRejected(kind, value, reason: "is 65538 bytes")
    }

    @Test func errorNamesKindAndIndex() throws {
        let error = try #require(ValueCheck.rejection(.card, "4111111111111112", index: 41))
        #expect(error.index == 41)
        #expect(
            error.description == "card value at index 41: fails the Luhn check (a digit is mistyped, missing or "
                + "swapped) (fix that value and resend the batch; nothing from this batch was stored)"
        )
    }

    @Test func leakCheckCatchesQuotes() {
        #expect(ValueCheck.leaks("bad value 4111111111111112 here", "4111111111111112"))
        #expect(ValueCheck.leaks("bad area 66612", "666-12-3456") == false)
        #expect(ValueCheck.leaks("ends with example.com", "alice@example.com"))
        #expect(!ValueCheck.leaks("has no '@'", "alice.example.com"))
    }
}
