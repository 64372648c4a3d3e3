/// What a token of each mode gives away to whoever holds it: the one place this is written in code.
/// docs/DESIGN.md ("Tokens") explains it; the record of processing (`ProcessingRegister`) prints it, so a
/// privacy notice built from the register says what the vault really does.
extension TokenMode {
    /// What holding tokens of `kind` made in this mode reveals, without detokenizing. Never the value.
    public func disclosure(for kind: Kind) -> String {
        switch self {
        case .opaque:
            return "nothing: a new token every call, unrelated to the value and to other tokens"
        case .deterministic:
            return "equality and frequency: anyone holding two tokens of one scope learns whether the values "
                + "are equal, and can count how often a value occurs; not the value"
        case .formatPreserving:
            return kind == .card ? "the last four digits (as much as the mask)" : "only the kind"
        }
    }
}
