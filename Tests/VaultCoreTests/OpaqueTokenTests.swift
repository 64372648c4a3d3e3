import Testing

@testable import VaultCore

@Suite struct OpaqueTokenTests {
    /// A computed property: a `Regex` is not Sendable, so it cannot be a stored static.
    static var shape: Regex<Substring> { /^tok_[0-9A-Za-z]{22}$/ }

    static let key = SecureBytes(randomCount: 32)

    @Test func tenThousandTokensAreWellFormedDistinctAndCarryTheirID() {
        var seen = Set<String>()
        for id in Int64(1)...10_000 {
            let token = TokenFormat.opaque(id: id, key: Self.key)
            #expect(token.wholeMatch(of: Self.shape) != nil, "\(token)")
            #expect(TokenFormat.isWellFormed(token))
            #expect(TokenFormat.carriedID(token, key: Self.key) == id)
            seen.insert(token)
        }
        #expect(seen.count == 10_000)
    }

    @Test(arguments: [Int64(1), 2, 255, 256, 1 << 32, TokenFormat.maxCarriedID])
    func idsAtTheEdgesRoundTrip(id: Int64) {
        let token = TokenFormat.opaque(id: id, key: Self.key)
        #expect(TokenFormat.carriedID(token, key: Self.key) == id)
    }

    @Test func theSameIDGivesUnrelatedTokens() {
        // Random bits and a mask derived from them: nothing in two tokens of one id, or of adjacent ids, lines up.
        let sameID = (0..<200).map { _ in Array(TokenFormat.opaque(id: 42, key: Self.key).utf8) }
        #expect(Set(sameID).count == 200)
        let adjacent = (Int64(1)...200).map { Array(TokenFormat.opaque(id: $0, key: Self.key).utf8) }
        for position in 4..<TokenFormat.length {
            #expect(Set(sameID.map { $0[position] }).count > 1, "position \(position), same id")
            #expect(Set(adjacent.map { $0[position] }).count > 1, "position \(position), adjacent ids")
        }
    }

    @Test func theMaskedIDLooksRandomWithoutTheKey() throws {
        // The last 5 bytes hold id XOR mask: across tokens of one id they must not repeat, and under another key
        // the same token decodes to another id.
        let tokens = (0..<100).map { _ in TokenFormat.opaque(id: 7, key: Self.key) }
        let tails = try tokens.map { try #require(Base62.decode($0.dropFirst(4))).suffix(5) }
        #expect(Set(tails.map(Array.init)).count == 100)
        let other = SecureBytes(randomCount: 32)
        #expect(tokens.filter { TokenFormat.carriedID($0, key: other) == 7 }.isEmpty)
    }

    @Test(arguments: [
        "tok_", "tok_123", "TOK_" + String(repeating: "a", count: 22), "tok-" + String(repeating: "a", count: 22),
        "tok_" + String(repeating: "a", count: 21) + "_", "tok_" + String(repeating: "a", count: 23),
        "4111111111111111",
    ])
    func malformedTokensAreRecognizedAndCarryNoID(token: String) {
        #expect(!TokenFormat.isWellFormed(token))
        #expect(TokenFormat.carriedID(token, key: Self.key) == nil)
    }

    @Test func theRightShapeAbove128BitsCarriesNoID() {
        // 22 base62 characters can spell numbers up to 62^22 > 2^128: no 16 bytes decode from those.
        let token = "tok_" + String(repeating: "z", count: 22)
        #expect(TokenFormat.isWellFormed(token))
        #expect(TokenFormat.carriedID(token, key: Self.key) == nil)
    }
}
