/// The associated data and look-up keys that bind every ciphertext to its place.
///
/// Each is a domain-separation label followed by length-prefixed fields, so no two different field lists can
/// produce the same bytes (no ambiguity between, say, subject "a|b" and subjects "a", "b").
enum Binding {
    /// AD of a wrapped data key: the subject it belongs to and the KEK version that wraps it. A wrapped key
    /// copied onto another subject's row, or relabelled with another version, fails to open.
    static func wrappedKey(subject: String, kekVersion: Int) -> [UInt8] {
        var out = Encoder(label: "cvault.dek.v1", capacity: 12 + subject.utf8.count)
        out.field(subject.utf8)
        out.field(bigEndian: kekVersion)
        return out.bytes
    }

    /// AD of a sealed value: its token (through the token's look-up key), subject, kind, data-key version and
    /// the limits it was born with. A ciphertext copied onto any other row fails to open, and so does a row
    /// whose purposes, expiry or reveal budget were edited in the database (the gate reads those columns, so
    /// they must be as authentic as the value). The running reveal count changes and cannot be bound here.
    static func value(lookup: [UInt8], subject: String, kind: Kind, dekVersion: Int, limits: TokenLimits) -> [UInt8] {
        // Built once per seal and per open, so into one buffer. The limits fields read `p=a,b` / `p*`,
        // `e=SECONDS` / `e*`, `m=COUNT` / `m*`.
        var out = Encoder(label: "cvault.value.v1", capacity: 96 + subject.utf8.count)
        out.field(lookup)
        out.field(subject.utf8)
        out.field(kind.rawValue.utf8)
        out.field(bigEndian: dekVersion)
        if let purposes = limits.purposes {
            out.field(("p=" + purposes.map(\.name).joined(separator: ",")).utf8)
        } else {
            out.field("p*".utf8)
        }
        if let expiresAt = limits.expiresAt { out.field("e=\(expiresAt)".utf8) } else { out.field("e*".utf8) }
        if let maxReveals = limits.maxReveals { out.field("m=\(maxReveals)".utf8) } else { out.field("m*".utf8) }
        return out.bytes
    }

    /// The row key of a token: keyed BLAKE2b-128 of the token string under the keyring's look-up key.
    /// Keyed, so a stolen database alone cannot confirm a guessed token (format-preserving tokens have
    /// small spaces), and so the database never holds token strings.
    static func lookup(token: String, key: SecureBytes) -> [UInt8] {
        var out = Encoder(label: "cvault.lookup.v1", capacity: 24 + token.utf8.count)
        out.field(token.utf8)
        return BLAKE2b.hash(out.bytes, key: key, outputLength: 16)
    }

    /// Label deriving the audit-reference key from the look-up key.
    static let auditReferenceKeyLabel = "cvault.audit.ref.key.v1"

    /// How the audit log names a token: `ref:` + hex of keyed BLAKE2b-128 of the token string under the
    /// audit-reference key. Every token is named this way, never as itself: an opaque token is a live bearer
    /// capability, and deterministic tokens would show which records concern equal values.
    ///
    /// A key of its own, not the look-up key: the look-up hash is stored in the tokens table, so a reference
    /// equal to it would link the public audit export to rows of the database. 16 bytes: the reference only
    /// has to tell tokens apart within one vault (a collision among even 2^32 tokens has odds near 2^-64,
    /// and would only merge two tokens' entries in a search), and it is as long as the look-up key.
    static func auditReference(token: String, key: SecureBytes) -> String {
        var out = Encoder(label: "cvault.audit.ref.v1", capacity: 24 + token.utf8.count)
        out.field(token.utf8)
        return "ref:" + Hex.encode(BLAKE2b.hash(out.bytes, key: key, outputLength: 16))
    }

    /// Label deriving the subject-reference key from the look-up key.
    static let subjectReferenceKeyLabel = "cvault.subject.ref.key.v1"

    /// How an audit record names a subject it concerns for the index (`AuditEvent.subjectRefs`): `sref:` +
    /// hex of keyed BLAKE2b-128 of the subject id under the subject-reference key. Keyed, so that the index
    /// says nothing to someone holding only the database; derived from the look-up key, which never rotates,
    /// so a subject's reference is the same for the vault's whole life and a report finds its oldest records
    /// (and its records after an erase, which destroys the subject's own key but not this one). A key of its
    /// own, so a reference equals no stored look-up hash. 16 bytes, for the reason `auditReference` gives.
    public static func subjectReference(_ subject: String, key: SecureBytes) -> String {
        var out = Encoder(label: "cvault.subject.ref.v1", capacity: 24 + subject.utf8.count)
        out.field(subject.utf8)
        return subjectReferencePrefix + Hex.encode(BLAKE2b.hash(out.bytes, key: key, outputLength: 16))
    }

    static let subjectReferencePrefix = "sref:"

    /// The index key of a reference written by `subjectReference`, nil for anything else.
    static func subjectReferenceBytes(_ reference: String) -> [UInt8]? {
        guard reference.hasPrefix(subjectReferencePrefix) else { return nil }
        let bytes = Hex.decode(String(reference.dropFirst(subjectReferencePrefix.count)))
        return bytes?.count == 16 ? bytes : nil
    }

    /// Key under which a tokenize answer is kept for idempotent replays, scoped to the caller.
    static func idempotencyKey(identity: String, key: String, lookupKey: SecureBytes) -> [UInt8] {
        BLAKE2b.hash(
            encode("cvault.idempotency.v1", [Array(identity.utf8), Array(key.utf8)]),
            key: lookupKey,
            outputLength: 16
        )
    }

    /// Label of the key `requestMAC` is keyed with, derived from the look-up key.
    static let requestMACKeyLabel = "cvault.idempotency.request-key.v1"

    /// The fingerprint of a tokenize call kept with its idempotency key, so a reused key with other parameters
    /// is caught: keyed BLAKE2b-256 over the kind, token mode, subject, scope, limits and the normalized
    /// values. Keyed, because every field but the values is public or guessable: unkeyed (as before schema 3),
    /// a copy of the database alone let anyone test guessed values against it (a date of birth in a second).
    /// Its key is derived from the look-up key under its own label, so it is never the same key as any other
    /// use's. A rotation of keys does not change the look-up key, so records made before one still match.
    static func requestMAC(_ fields: [[UInt8]], key: SecureBytes) -> [UInt8] {
        BLAKE2b.hash(encode("cvault.tokenize.request.v2", fields), key: key, outputLength: 32)
    }

    /// AD of a stored idempotent answer (sealed under the subject's data key): its row (the key hash), its
    /// subject and the data key's version. An answer copied onto another row or subject fails to open.
    static func idempotentAnswer(keyHash: [UInt8], subject: String, dekVersion: Int) -> [UInt8] {
        var out = Encoder(label: "cvault.idempotency.answer.v1", capacity: 32 + keyHash.count + subject.utf8.count)
        out.field(keyHash)
        out.field(subject.utf8)
        out.field(bigEndian: dekVersion)
        return out.bytes
    }

    static func encode(_ label: String, _ fields: [[UInt8]]) -> [UInt8] {
        var out = Encoder(label: label, capacity: fields.reduce(0) { $0 + 4 + $1.count })
        for field in fields { out.field(field) }
        return out.bytes
    }

    /// `label ‖ 0x00`, then each field as its length (u32 big-endian) and its bytes, into one buffer.
    struct Encoder {
        private(set) var bytes: [UInt8]

        init(label: String, capacity: Int) {
            bytes = []
            bytes.reserveCapacity(label.utf8.count + 1 + capacity)
            bytes.append(contentsOf: label.utf8)
            bytes.append(0)
        }

        mutating func field(_ field: some Collection<UInt8>) {
            appendUInt32(field.count)
            bytes.append(contentsOf: field)
        }

        /// A field holding `n` as a u32 big-endian.
        mutating func field(bigEndian n: Int) {
            appendUInt32(4)
            appendUInt32(n)
        }

        private mutating func appendUInt32(_ n: Int) {
            let value = UInt32(truncatingIfNeeded: n)
            bytes.append(UInt8(truncatingIfNeeded: value >> 24))
            bytes.append(UInt8(truncatingIfNeeded: value >> 16))
            bytes.append(UInt8(truncatingIfNeeded: value >> 8))
            bytes.append(UInt8(truncatingIfNeeded: value))
        }
    }
}
