/// Why a caller asks for values back: a name the policy's detokenize rules and a token's own limits grant.
///
/// 1 to 64 characters of `a-z 0-9 -` (docs/PROTOCOL.md §6, *purpose*), the same rule for a detokenize
/// request, a token's `limits.purposes` and the policy file. No comma can be part of one, so a list of them
/// stores as comma-separated text and reads back the same. The initializer is the only place the rule is
/// checked: the socket, the CLI and the policy parser parse into a `Purpose`, and everything after takes one.
public struct Purpose: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    static let rule = NameRule.lowercaseName(
        .invalidRequest(
            "a purpose must be 1 to 64 characters of a-z, 0-9 and -",
            hint: "use a purpose name from the policy, such as charge or support",
            field: .purpose
        )
    )

    /// The purpose as given (already valid).
    public let name: String

    /// Refuses a name that breaks the rule (field `purpose`).
    public init(_ name: String) throws(VaultError) { self.name = try Self.rule.check(name) }

    /// For purposes written in the program's own text (`NameRule.literal`).
    public init(stringLiteral name: String) { self.name = Self.rule.literal(name) }

    public var description: String { name }
}

extension Purpose: Comparable {
    public static func < (a: Purpose, b: Purpose) -> Bool { a.name < b.name }
}

extension Purpose: Codable {
    /// Decoding checks the rule like any other way in.
    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
