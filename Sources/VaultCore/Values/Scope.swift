/// The namespace of deterministic tokens: equal values in different scopes get unrelated tokens, so two
/// downstream systems that must not join their records can be given different scopes (docs/DESIGN.md).
///
/// 1 to 64 characters of `a-z 0-9 -`, the format docs/PROTOCOL.md §6 gives *scope*, on every path: a scope
/// the CLI accepts offline is one the socket accepts, so the tokens it made can be matched over the socket.
/// No scope holds a 0x00 byte, which keeps the deterministic token's hash input unambiguous
/// (`TokenFormat.deterministic`). The initializer is the only place the rule is checked.
public struct Scope: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The scope of a request that names none.
    public static let `default`: Scope = "default"

    static let rule = NameRule.lowercaseName(
        .invalidRequest(
            "a scope must be 1 to 64 characters of a-z, 0-9 and -",
            hint: "leave it out for the default scope",
            field: .scope
        )
    )

    /// The scope as given (already valid).
    public let name: String

    /// Refuses a name that breaks the rule (field `scope`).
    public init(_ name: String) throws(VaultError) { self.name = try Self.rule.check(name) }

    /// For scopes written in the program's own text (`NameRule.literal`).
    public init(stringLiteral name: String) { self.name = Self.rule.literal(name) }

    public var description: String { name }
}
