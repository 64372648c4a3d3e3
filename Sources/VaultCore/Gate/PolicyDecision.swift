/// What the policy says about one operation: allowed or denied, for detokenize how the value is shown,
/// and why (the rule that granted it, or what was missing).
///
/// Only `Policy` makes decisions, and a denial is the answer whenever no rule grants: there is no
/// default grant anywhere.
public struct PolicyDecision: Sendable, Equatable, CustomStringConvertible {
    /// Whether the operation may go ahead.
    public let isAllowed: Bool
    /// For an allowed detokenize: plain or masked. Nil for other operations and for denials.
    public let reveal: RevealMode?
    /// The rule that granted it; nil when denied.
    public let rule: Rule?
    /// Why, for people and logs: which rule granted, or that none did and for whom. Holds names from the
    /// policy and the request's kind and purpose, never a value.
    public let reason: String

    init(isAllowed: Bool, reveal: RevealMode?, rule: Rule?, reason: String) {
        self.isAllowed = isAllowed
        self.reveal = reveal
        self.rule = rule
        self.reason = reason
    }

    static func allowed(by rule: Rule, reveal: RevealMode? = nil) -> PolicyDecision {
        let shown = reveal.map { ", reveal \($0.rawValue)" } ?? ""
        return PolicyDecision(isAllowed: true, reveal: reveal, rule: rule, reason: "allowed by \(rule)\(shown)")
    }

    static func denied(_ reason: String) -> PolicyDecision {
        PolicyDecision(isAllowed: false, reveal: nil, rule: nil, reason: reason)
    }

    public var description: String {
        isAllowed ? reason : "denied: \(reason)"
    }

    /// A place in the policy that grants something, e.g. `roles.payments.detokenize[0]` at line 14.
    public struct Rule: Sendable, Hashable, CustomStringConvertible {
        /// Dotted path from the top of the file.
        public let path: String
        /// 1-based line in the policy file.
        public let line: Int

        public var description: String {
            "\(path) (line \(line))"
        }
    }
}
