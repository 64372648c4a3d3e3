/// A caller's key for a tokenize call that may be retried: the same key with the same request stores nothing
/// twice (docs/PROTOCOL.md §6.1).
///
/// 1 to 128 characters from 0x21–0x7E (printable ASCII, no space). The vault never stores or prints it: it
/// keeps only a keyed hash of it with the caller's identity (`Binding.idempotencyKey`). The initializer is the
/// only place the rule is checked.
public struct IdempotencyKey: Sendable, Hashable, ExpressibleByStringLiteral {
    static let rule = NameRule(
        lengths: 1...128,
        refusal: .invalidRequest(
            "an idempotency key must be 1 to 128 printable ASCII characters without spaces",
            hint: "use a random id, such as a UUID, per logical request",
            field: .idempotencyKey
        )
    ) { (0x21...0x7E).contains($0) }

    /// The key as given (already valid). Not printed: it is the caller's, and may be guessable.
    public let text: String

    /// Refuses a key that breaks the rule (field `idempotency_key`).
    public init(_ text: String) throws(VaultError) { self.text = try Self.rule.check(text) }

    /// For keys written in the program's own text (`NameRule.literal`).
    public init(stringLiteral text: String) { self.text = Self.rule.literal(text) }
}
