/// The shape every name-like value shares: a length in bytes, every byte from a small ASCII set, and the one
/// error that says so.
///
/// Each value type in this folder holds one of these as its rule and checks it in its initializer only, so a
/// rule is written once and read in one place. ASCII on purpose: such names are printed in logs, errors and
/// audit records, where a look-alike letter, a space or a control character could mislead a reader.
struct NameRule: Sendable {
    /// Allowed lengths, in UTF-8 bytes.
    let lengths: ClosedRange<Int>
    /// The refusal: `.invalidRequest` naming the field, the rule in words and a hint; never the refused text.
    let refusal: VaultError
    /// Whether one byte may appear.
    let allows: @Sendable (UInt8) -> Bool

    func accepts(_ text: String) -> Bool {
        lengths.contains(text.utf8.count) && text.utf8.allSatisfy(allows)
    }

    /// `text` when it meets the rule; the refusal otherwise.
    func check(_ text: String) throws(VaultError) -> String {
        guard accepts(text) else { throw refusal }
        return text
    }

    /// `text` written in the program's own source (a literal). Input never reaches this: a literal that breaks
    /// the rule is a programming error and stops here. (`Subject("…")` of a plain literal is the literal
    /// initializer too, by Swift's literal rules, so input is parsed only from a variable.)
    func literal(_ text: String) -> String {
        guard accepts(text) else { preconditionFailure(refusal.message) }
        return text
    }

    /// `a-z 0-9 -`, 1 to 64 bytes: purposes and scopes (docs/PROTOCOL.md §6, *purpose*, *scope*).
    static func lowercaseName(_ refusal: VaultError) -> NameRule {
        NameRule(lengths: 1...64, refusal: refusal) { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }
}
