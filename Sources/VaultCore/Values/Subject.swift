/// A data subject's id: whose values a token holds, and what `erase` shreds.
///
/// 1 to 128 characters of `A-Z a-z 0-9 . _ : -` (docs/PROTOCOL.md §6, *subject*). Narrow on purpose: an
/// identifier, never personal data, and safe to print in logs and audit records. The initializer is the only
/// place the rule is checked: the socket and the CLI parse into a `Subject` once, at the edge, and the vault
/// takes one and never checks again.
public struct Subject: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public static let maxBytes = 128

    static let rule = NameRule(
        lengths: 1...maxBytes,
        refusal: .invalidRequest(
            "the subject id must be 1 to \(maxBytes) characters of A-Z a-z 0-9 . _ : -",
            hint: "use your internal customer id, such as cust-42, never personal data",
            field: .subject
        )
    ) { byte in
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
            UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    /// The id as given (already valid).
    public let name: String

    /// Refuses an id that breaks the rule (field `subject`).
    public init(_ name: String) throws(VaultError) { self.name = try Self.rule.check(name) }

    /// For ids written in the program's own text (`NameRule.literal`).
    public init(stringLiteral name: String) { self.name = Self.rule.literal(name) }

    /// Subject ids are printable by design.
    public var description: String { name }
}
