/// Where a customer made a consent choice (`signup-form-v3`, `email-footer`): a short label, never customer
/// data. It is stored with the decision, shown in the subject's consent history and report, and written into
/// the audit record, so it must be safe to print anywhere.
///
/// 1 to 64 characters of `A-Z a-z 0-9 . _ : / -` (docs/PROTOCOL.md §6, *label*): no space, no control
/// character, nothing that could pass for another field in a log line. The initializer is the only place the
/// rule is checked: the socket and the CLI parse into a `ConsentSource` once, and the vault takes one.
public struct ConsentSource: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    static let rule = NameRule.label(
        .invalidRequest(
            "a consent source must be 1 to 64 characters of A-Z a-z 0-9 . _ : / -",
            hint: "name the form or page where the customer chose, such as signup-form-v3",
            field: .consentSource
        )
    )

    /// The label as given (already valid).
    public let name: String

    /// Refuses a label that breaks the rule (field `consentSource`).
    public init(_ name: String) throws(VaultError) { self.name = try Self.rule.check(name) }

    /// For labels written in the program's own text (`NameRule.literal`).
    public init(stringLiteral name: String) { self.name = Self.rule.literal(name) }

    public var description: String { name }
}

/// Why a subject's processing is restricted (`accuracy-contested`, `objection-pending`): a short label under
/// the same rule as `ConsentSource`, for the same reason (it is stored, reported and audited). The details of
/// a case belong in the controller's own case file, not in the vault.
public struct RestrictionReason: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    static let rule = NameRule.label(
        .invalidRequest(
            "a restriction reason must be 1 to 64 characters of A-Z a-z 0-9 . _ : / -",
            hint: "use a short label such as accuracy-contested; keep the case's details elsewhere",
            field: .restrictionReason
        )
    )

    /// The label as given (already valid).
    public let name: String

    /// Refuses a label that breaks the rule (field `restrictionReason`).
    public init(_ name: String) throws(VaultError) { self.name = try Self.rule.check(name) }

    /// For labels written in the program's own text (`NameRule.literal`).
    public init(stringLiteral name: String) { self.name = Self.rule.literal(name) }

    public var description: String { name }
}

extension NameRule {
    /// `A-Z a-z 0-9 . _ : / -`, 1 to 64 bytes: the labels recorded with a customer's choices.
    static func label(_ refusal: VaultError) -> NameRule {
        NameRule(lengths: 1...64, refusal: refusal) { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
                UInt8(ascii: "/"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }
}
