/// The shapes of tokens. Opaque and deterministic tokens share one shape, `tok_` + 22 base62 characters
/// (128 bits), so a token never tells which mode made it; format-preserving tokens look like their kind
/// (`TokenFormat.formatPreserving`). Which mode a kind uses is the policy's choice (`TokenMode`).
public enum TokenFormat {
    public static let prefix = "tok_"
    /// `prefix` + `Base62.width` characters.
    public static let length = 4 + Base62.width

    /// A fresh random token: `tok_` + base62 of 16 bytes from the system CSPRNG.
    ///
    /// Why 128 bits: a token is a bearer reference, so it must not be guessable; at 2^128 possible tokens,
    /// an attacker who can try a billion a second against a vault holding a billion tokens still needs
    /// about 10^19 years to expect one hit, and two tokens collide with negligible probability (birthday
    /// bound 2^64 tokens). The randomness says nothing about the value.
    public static func opaque() -> String {
        prefix + Base62.encode(SecureRandom.bytes(Base62.byteCount))
    }

    /// True when `token` has the opaque/deterministic shape. A cheap filter before a look-up; it says
    /// nothing about whether the token exists.
    public static func isWellFormed(_ token: some StringProtocol) -> Bool {
        let bytes = Array(token.utf8)
        return bytes.count == length && bytes.starts(with: prefix.utf8)
            && bytes.dropFirst(prefix.utf8.count).allSatisfy(Base62.isAlphabetCharacter)
    }
}
