extension TokenFormat {
    /// Domain-separation label of deterministic tokens, version 1. A new token derivation gets a new label.
    public static let deterministicLabel = "cvault.token.v1"
    /// Bytes of a deterministic token key.
    public static let deterministicKeyBytes = 32

    /// The deterministic token of a normalized value: `tok_` + base62 of
    /// `BLAKE2b(key, "cvault.token.v1" 0x00 kind 0x00 scope 0x00 normalized, 16 bytes)`.
    ///
    /// Why keyed BLAKE2b: a keyed hash is a PRF, so without `key` nobody can compute a value's token or
    /// test a guess (an unkeyed hash of a 9-digit SSN could be reversed by trying all 10^9). It is
    /// libsodium's hash, and keyed mode needs no HMAC wrapper. 16 bytes give the same 128-bit token as
    /// opaque mode; distinct values collide only near 2^64 values per kind and scope.
    ///
    /// Why the message is built this way (domain separation): the label keeps these hashes apart from any
    /// other use of the same key and from later token versions; the kind keeps a value that is valid under
    /// two kinds from getting one token for both; the scope keeps equal values in different scopes (for
    /// example two tenants or two fields) from being linkable by their tokens. Each field is followed by a
    /// 0x00 byte, and the value comes last, so the encoding is unambiguous as long as the label, kind and
    /// scope contain no 0x00: kinds never do, and a `Scope` cannot.
    ///
    /// `key` must be 32 bytes (as `BLAKE2b.deriveKey` makes them). Equal inputs always give equal tokens,
    /// which is the point of this mode and also its leak: it shows which records share a value, and how
    /// often a value occurs.
    public static func deterministic(kind: Kind, scope: Scope, normalized: String, key: SecureBytes) -> String {
        precondition(key.count == deterministicKeyBytes, "a deterministic token key is 32 bytes")
        var message: [UInt8] = []
        let fields = [
            deterministicLabel.utf8.count, kind.rawValue.utf8.count, scope.name.utf8.count, normalized.utf8.count,
        ]
        message.reserveCapacity(fields.reduce(3, +))
        message += deterministicLabel.utf8
        message.append(0)
        message += kind.rawValue.utf8
        message.append(0)
        message += scope.name.utf8
        message.append(0)
        message += normalized.utf8
        let digest = BLAKE2b.hash(message, key: key, outputLength: Base62.byteCount)
        // The message holds the customer value; wipe this copy rather than leave it in freed heap memory.
        ConstantTime.wipe(&message)
        return prefix + Base62.encode(digest)
    }
}
