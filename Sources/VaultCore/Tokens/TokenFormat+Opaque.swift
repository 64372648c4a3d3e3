extension TokenFormat {
    /// Domain-separation label of the key that masks the row id inside opaque tokens (derived from the
    /// keyring's look-up key: `Keyring.addressKey`).
    public static let addressKeyLabel = "cvault.token.address.v1"
    /// Random bytes in an opaque token (88 bits).
    static let randomBytes = 11
    /// Bytes of the masked row id in an opaque token (40 bits).
    static let idBytes = Base62.byteCount - randomBytes
    /// The largest row id an opaque token can carry (2^40 − 1, about 10^12).
    public static let maxCarriedID: Int64 = (1 << 40) - 1

    /// A fresh opaque token for the row `id`: `tok_` + base62 of `R ‖ (id XOR mask(R))`, where R is 11 bytes
    /// from the system CSPRNG and `mask(R)` the first 5 bytes of keyed BLAKE2b of R under `key`.
    ///
    /// Why the token carries its row id: the row is then found by id, and new rows are appended at the end
    /// of the table instead of at a random place in a B-tree keyed by a hash. A group commit of 64 tokens
    /// then writes a few pages instead of one random leaf page per token: the server's CPU per value fell by a
    /// quarter for single values and by two thirds for 256-value calls (docs/BENCHMARKS.md, fourth session).
    ///
    /// Why masked: a plain id would tell anyone holding tokens how many were issued between two of them and
    /// in what order. Masked by a PRF of the token's own random part, the id looks random to anyone without
    /// the key, and two tokens of adjacent rows share nothing visible.
    ///
    /// Why this is as hard to guess as 128 random bits: the row's look-up key (keyed BLAKE2b of the whole
    /// token string) is stored, and a token is accepted only if its look-up key equals the row's, so only
    /// the exact string issued for a row finds it. A guess names some id (uniform, since the mask is a PRF)
    /// and must also repeat that row's 88 random bits: with N tokens issued, one guess in 2^128 / N
    /// succeeds, the same odds as the 128-bit random tokens before (`docs/DESIGN.md`, Tokens).
    ///
    /// The shape is unchanged (`tok_` + 22 base62 characters), so opaque and deterministic tokens still
    /// look alike and systems that stored earlier tokens need no change.
    public static func opaque(id: Int64, key: SecureBytes) -> String {
        precondition((1...maxCarriedID).contains(id), "an opaque token carries a row id in 1...2^40-1")
        var bytes = SecureRandom.bytes(randomBytes)
        let mask = idMask(random: bytes[...], key: key)
        for i in 0..<idBytes {
            bytes.append(UInt8(truncatingIfNeeded: id >> (8 * (idBytes - 1 - i))) ^ mask[i])
        }
        return prefix + Base62.encode(bytes)
    }

    /// The row id an opaque token carries, or nil if `token` does not have the shape. Every well-formed
    /// string yields some id, deterministic tokens and forgeries included: the caller must check that the
    /// row's look-up key is this token's before trusting the row.
    public static func carriedID(_ token: String, key: SecureBytes) -> Int64? {
        // `decode` checks the length and the alphabet.
        guard token.utf8.starts(with: prefix.utf8),
            let bytes = Base62.decode(Substring(token.utf8.dropFirst(prefix.utf8.count)))
        else {
            return nil
        }
        let mask = idMask(random: bytes[0..<randomBytes], key: key)
        var id: Int64 = 0
        for i in 0..<idBytes {
            id = id << 8 | Int64(bytes[randomBytes + i] ^ mask[i])
        }
        return id
    }

    /// Keyed BLAKE2b-128 of the token's random part; its first `idBytes` mask the id.
    private static func idMask(random: ArraySlice<UInt8>, key: SecureBytes) -> [UInt8] {
        random.withUnsafeBytes { BLAKE2b.hash($0, key: key, outputLength: BLAKE2b.minOutput) }
    }
}
