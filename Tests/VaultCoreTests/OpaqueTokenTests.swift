import Testing
@testable import VaultCore

@Suite struct OpaqueTokenTests {
    /// A computed property: a `Regex` is not Sendable, so it cannot be a stored static.
    static var shape: Regex<Substring> { /^tok_[0-9A-Za-z]{22}$/ }

    @Test func tenThousandTokensAreWellFormedAndDistinct() {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let token = TokenFormat.opaque()
            #expect(token.wholeMatch(of: Self.shape) != nil, "\(token)")
            #expect(TokenFormat.isWellFormed(token))
            seen.insert(token)
        }
        #expect(seen.count == 10_000)
    }

    @Test func bodyDecodesToSixteenBytes() throws {
        let token = TokenFormat.opaque()
        let bytes = try #require(Base62.decode(token.dropFirst(TokenFormat.prefix.count)))
        #expect(bytes.count == 16)
        #expect(TokenFormat.prefix + Base62.encode(bytes) == token)
    }

    @Test func everyCharacterPositionVaries() {
        // With fixed-width left padding, even the first character changes between tokens (it takes 8 of
        // 62 values, since 2^128 / 62^21 is about 7.9).
        let tokens = (0..<500).map { _ in Array(TokenFormat.opaque().utf8) }
        for position in 4..<TokenFormat.length {
            #expect(Set(tokens.map { $0[position] }).count > 1, "position \(position)")
        }
    }

    @Test(arguments: [
        "tok_", "tok_123", "TOK_" + String(repeating: "a", count: 22), "tok-" + String(repeating: "a", count: 22),
        "tok_" + String(repeating: "a", count: 21) + "_", "tok_" + String(repeating: "a", count: 23),
        "4111111111111111",
    ])
    func malformedTokensAreRecognized(token: String) {
        #expect(!TokenFormat.isWellFormed(token))
    }
}
