import Testing

@testable import VaultCore

@Suite struct DeterministicTokenTests {
    let key = SecureBytes(randomCount: 32)

    func token(
        _ kind: Kind = .email,
        scope: Scope = "tenant-a",
        _ value: String = "alice@example.com",
        key: SecureBytes? = nil
    ) -> String {
        TokenFormat.deterministic(kind: kind, scope: scope, normalized: value, key: key ?? self.key)
    }

    @Test func sameInputGivesSameToken() {
        let first = token()
        #expect(first.wholeMatch(of: OpaqueTokenTests.shape) != nil)
        #expect(token() == first)
    }

    @Test func differsByKindScopeValueAndKey() {
        let base = token(.text)
        #expect(token(.name) != base)
        #expect(token(.text, scope: "tenant-b") != base)
        #expect(token(.text, "alice@example.org") != base)
        #expect(token(.text, key: SecureBytes(randomCount: 32)) != base)
    }

    /// The 0x00 separators keep field boundaries: moving bytes between scope and value changes the token.
    @Test func fieldBoundariesMatter() {
        #expect(token(scope: "ab", "c") != token(scope: "a", "bc"))
        #expect(token(scope: "x", "y") != token(scope: "xy", ""))
    }

    /// A known answer for the documented construction, computed independently with Python's
    /// `hashlib.blake2b(msg, key=bytes(range(32)), digest_size=16)` and integer base62, so neither the
    /// message layout nor the encoding can drift without this test noticing.
    @Test func matchesTheDocumentedConstruction() {
        var keyBytes = [UInt8](0..<32)
        let fixedKey = SecureBytes(consuming: &keyBytes)
        let message = Array("cvault.token.v1\0ssn\0tenant-a\0123-45-6789".utf8)
        let expected = "tok_" + Base62.encode(BLAKE2b.hash(message, key: fixedKey, outputLength: 16))
        let token = TokenFormat.deterministic(kind: .ssn, scope: "tenant-a", normalized: "123-45-6789", key: fixedKey)
        #expect(token == expected)
        #expect(expected == "tok_5TVeLTyPoGtdYiKCtDC0cM")
    }

    /// No scope can hold the 0x00 byte that separates the hashed fields (the rest of the rule: `RequestValueTypesTests`).
    /// (Through a variable: `Scope("…")` of a literal would be the literal initializer.)
    @Test(arguments: ["tenant\0a", "\0", ""])
    func noScopeHoldsTheFieldSeparator(_ text: String) {
        #expect((try? Scope(text)) == nil)
    }
}
