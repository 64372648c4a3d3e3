/// The shapes of tokens. Opaque and deterministic tokens share one shape, `tok_` + 22 base62 characters
/// (128 bits: `TokenFormat+Opaque.swift`, `TokenFormat+Deterministic.swift`), so a token never tells which
/// mode made it; format-preserving tokens look like their kind
/// (`TokenFormat.formatPreserving`). Which mode a kind uses is the policy's choice (`TokenMode`).
public enum TokenFormat {
    public static let prefix = "tok_"
    /// `prefix` + `Base62.width` characters.
    public static let length = 4 + Base62.width

    /// True when `token` has the opaque/deterministic shape. A cheap filter before a look-up; it says
    /// nothing about whether the token exists.
    public static func isWellFormed(_ token: some StringProtocol) -> Bool {
        let bytes = token.utf8
        return bytes.count == length && bytes.starts(with: prefix.utf8)
            && bytes.dropFirst(prefix.utf8.count).allSatisfy(Base62.isAlphabetCharacter)
    }
}
