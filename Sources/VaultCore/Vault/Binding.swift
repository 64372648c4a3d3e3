/// The associated data and look-up keys that bind every ciphertext to its place.
///
/// Each is a domain-separation label followed by length-prefixed fields, so no two different field lists can
/// produce the same bytes (no ambiguity between, say, subject "a|b" and subjects "a", "b").
enum Binding {
    /// AD of a wrapped data key: the subject it belongs to and the KEK version that wraps it. A wrapped key
    /// copied onto another subject's row, or relabelled with another version, fails to open.
    static func wrappedKey(subject: String, kekVersion: Int) -> [UInt8] {
        encode("cvault.dek.v1", [Array(subject.utf8), bigEndian(kekVersion)])
    }

    /// AD of a sealed value: its token (through the token's look-up key), subject, kind, data-key version and
    /// the limits it was born with. A ciphertext copied onto any other row fails to open, and so does a row
    /// whose purposes, expiry or reveal budget were edited in the database (the gate reads those columns, so
    /// they must be as authentic as the value). The running reveal count changes and cannot be bound here.
    static func value(lookup: [UInt8], subject: String, kind: Kind, dekVersion: Int, limits: TokenLimits) -> [UInt8] {
        let purposes: String = limits.purposes.map { "p=" + $0.joined(separator: ",") } ?? "p*"
        let expiry: String = limits.expiresAt.map { "e=\($0)" } ?? "e*"
        let budget: String = limits.maxReveals.map { "m=\($0)" } ?? "m*"
        return encode("cvault.value.v1", [lookup, Array(subject.utf8), Array(kind.rawValue.utf8), bigEndian(dekVersion),
                                          Array(purposes.utf8), Array(expiry.utf8), Array(budget.utf8)])
    }

    /// The row key of a token: keyed BLAKE2b-128 of the token string under the keyring's look-up key.
    /// Keyed, so a stolen database alone cannot confirm a guessed token (format-preserving tokens have
    /// small spaces), and so the database never holds token strings.
    static func lookup(token: String, key: SecureBytes) -> [UInt8] {
        BLAKE2b.hash(encode("cvault.lookup.v1", [Array(token.utf8)]), key: key, outputLength: 16)
    }

    /// Key under which a tokenize answer is kept for idempotent replays, scoped to the caller.
    static func idempotencyKey(identity: String, key: String, lookupKey: SecureBytes) -> [UInt8] {
        BLAKE2b.hash(encode("cvault.idempotency.v1", [Array(identity.utf8), Array(key.utf8)]), key: lookupKey, outputLength: 16)
    }

    static func encode(_ label: String, _ fields: [[UInt8]]) -> [UInt8] {
        var out = Array(label.utf8)
        out.append(0)
        for field in fields {
            out += bigEndian(field.count)
            out += field
        }
        return out
    }

    static func bigEndian(_ n: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: n).bigEndian) { Array($0) }
    }
}
