/// The kinds of personal data cvault knows. Each has a normalizer and validator (`Kind.normalize`), a
/// mask (`Mask`), and the token modes it allows (`TokenMode`).
public enum Kind: String, Sendable, CaseIterable, Codable, Hashable {
    case email, phone, card, ssn, name, address, date, text

    /// The largest value accepted for any kind, in UTF-8 bytes.
    public static let maxValueBytes = 64 * 1024
}

/// How a kind's tokens are made. Chosen per kind by the policy's `kinds:` map; `opaque` by default.
public enum TokenMode: String, Sendable, CaseIterable, Codable, Hashable {
    /// `tok_` + 22 base62 characters of fresh randomness: says nothing about the value.
    case opaque
    /// Keyed BLAKE2b of the normalized value: equal values give equal tokens (leaks equality and frequency).
    case deterministic
    /// Shaped like the kind (card, ssn, phone, email) but never a valid real value.
    case formatPreserving = "format-preserving"
}
