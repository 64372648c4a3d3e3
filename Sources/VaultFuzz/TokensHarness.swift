import VaultCore

/// A token string through every decoder a detokenize request reaches: the shape check, Base62, the row id
/// an opaque token carries, and detokenize's `Address` (its look-up key and audit reference), which is
/// what format-preserving tokens go through. Also checks that Base62 decoding is the exact inverse of
/// encoding: a decoder that accepted two spellings of one value would let two strings name one row.
enum TokensHarness {
    static func run(_ bytes: [UInt8]) {
        let token = String(decoding: bytes, as: UTF8.self)
        _ = TokenFormat.isWellFormed(token)
        if let decoded = Base62.decode(token) {
            precondition(
                Base62.encode(decoded) == token,
                "Base62.decode accepted a string that encode does not give back"
            )
        }
        let keyring = FuzzKeys.keyring
        _ = FuzzEntryPoints.carriedID(token, keyring: keyring)
        _ = FuzzEntryPoints.tokenAddress(token, keyring: keyring)
    }
}
