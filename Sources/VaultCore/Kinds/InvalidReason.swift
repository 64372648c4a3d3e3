/// Why a value broke its kind's rules, in words that never quote the value or any part of it: only the
/// rule, and public facts such as a length or a count.
///
/// The per-kind rules throw it; `Kind.normalize(_:index:)` adds the kind and the batch position and turns
/// it into `VaultError.invalidValue`. Keeping the kind and index out of the rules keeps each rule small.
struct InvalidReason: Error, Equatable, Sendable {
    let text: String

    init(_ text: String) { self.text = text }

    /// The value had only whitespace (for kinds that trim).
    static let blank = InvalidReason("is blank (only whitespace)")
}
