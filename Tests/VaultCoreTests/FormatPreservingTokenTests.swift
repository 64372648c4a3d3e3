import Testing

@testable import VaultCore

@Suite struct FormatPreservingTokenTests {
    func token(_ kind: Kind, _ normalized: String) throws -> String {
        try #require(TokenFormat.formatPreserving(kind: kind, normalized: normalized))
    }

    @Test(arguments: ["123456789015", "4111111111111111", "378282246310005", "4000000000000000006"])
    func cardKeepsLengthAndLastFourAndFailsLuhn(card: String) throws {
        for _ in 0..<(card == "4111111111111111" ? 10_000 : 500) {
            let token = try token(.card, card)
            #expect(token.count == card.count)
            #expect(token.suffix(4) == card.suffix(4))
            #expect(token.first != "0")
            #expect(token.utf8.allSatisfy { (0x30...0x39).contains($0) })
            #expect(!Luhn.isValid(token))
        }
    }

    @Test func cardTokensAreRandom() throws {
        let tokens = try Set((0..<1000).map { _ in try token(.card, "4111111111111111") })
        #expect(tokens.count == 1000)
        // The first digit takes 1-9 and every other random position all ten digits: the one value excluded
        // just before the last four (the one that would pass Luhn) depends on the other digits.
        let digitSets = (0..<12).map { position in
            Set(tokens.map { Array($0.utf8)[position] })
        }
        #expect(digitSets[0].count == 9 && !digitSets[0].contains(UInt8(ascii: "0")))
        #expect(digitSets[1..<12].allSatisfy { $0.count == 10 })
    }

    @Test func ssnIsNeverIssued() throws {
        for _ in 0..<1000 {
            let token = try token(.ssn, "123-45-6789")
            #expect(token.wholeMatch(of: /9\d\d-\d\d-\d\d\d\d/) != nil, "\(token)")
            ValueCheck.expectRejected(.ssn, token, reason: "area number")
        }
    }

    @Test(arguments: [("+14155552671", 11), ("+68212345", 8), ("+861234567890123", 15), ("+442079460958", 12)])
    func phoneUsesReservedCountryCode(phone: String, digits: Int) throws {
        for _ in 0..<200 {
            let token = try token(.phone, phone)
            #expect(token.hasPrefix("+999"))
            #expect(token.count == digits + 1)
            #expect(token.dropFirst().allSatisfy(\.isASCII) && token.dropFirst().allSatisfy(\.isNumber))
            ValueCheck.expectRejected(.phone, token, reason: "ITU reserves")
        }
    }

    @Test func emailUsesReservedDomain() throws {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let token = try token(.email, "alice@example.com")
            #expect(token.wholeMatch(of: /[a-z2-7]{26}@token\.invalid/) != nil, "\(token)")
            #expect(token.hasSuffix("@token.invalid"))
            ValueCheck.expectRejected(.email, token, reason: "reserved never to receive mail", window: 10)
            seen.insert(token)
        }
        #expect(seen.count == 1000)
    }

    @Test(arguments: [(Kind.name, "John Doe"), (.address, "1 Main St"), (.date, "1987-06-15"), (.text, "hi")])
    func kindsWithoutAShapeGiveNil(kind: Kind, normalized: String) {
        #expect(TokenFormat.formatPreserving(kind: kind, normalized: normalized) == nil)
    }

    @Test(arguments: [
        (Kind.card, "4111"), (.card, "4111 1111 1111 1111"), (.phone, "4155552671"), (.phone, "+1"),
        (.email, "no-at-sign"),
    ])
    func valuesNotNormalizedGiveNil(kind: Kind, normalized: String) {
        #expect(TokenFormat.formatPreserving(kind: kind, normalized: normalized) == nil)
    }

    @Test func supportedModes() {
        for kind in Kind.allCases {
            #expect(kind.supports(.opaque))
            #expect(kind.supports(.deterministic))
            let hasShape = [Kind.card, .ssn, .phone, .email].contains(kind)
            #expect(kind.supports(.formatPreserving) == hasShape)
            let samples: [Kind: String] = [.email: "a@example.com", .phone: "+14155552671", .card: "4111111111111111"]
            let sample = samples[kind] ?? "123-45-6789"
            #expect((TokenFormat.formatPreserving(kind: kind, normalized: sample) != nil) == hasShape)
        }
    }
}
