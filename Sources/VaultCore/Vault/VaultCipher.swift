/// Opening what the vault sealed. Everything that turns stored ciphertext back into a value is here, and the
/// only caller that may reveal a value is the gate (it must present a `RevealGrant`).
enum VaultCipher {
    /// Unwraps a subject's data key into guarded memory with the KEK version that wrapped it. A version
    /// `keyring` lacks may be one another process added since it was read, so it is `KeyringOutdated` (a
    /// request reloads and retries; anything else answers `.sealed`); a wrapped key that fails authentication
    /// is `.integrity`.
    static func dataKey(of subject: SubjectRecord, keyring: Keyring) throws -> SecureBytes {
        guard let kek = keyring.kek(version: subject.kekVersion) else {
            throw KeyringOutdated(
                answer: VaultError(
                    .sealed,
                    "KEK v\(subject.kekVersion) that wraps a data key is not in the keyring (retired?)",
                    hint: "restore the keyring from a backup that still holds it"
                )
            )
        }
        let ad = Binding.wrappedKey(subject: subject.name, kekVersion: subject.kekVersion)
        return try XChaCha20Poly1305.openKey(subject.wrappedKey, ad: ad, key: kek)
    }

    /// Opens a value for the gate. `grant` is proof that the policy allowed this reveal.
    static func open(_ stored: StoredToken, dek: SecureBytes, grant: RevealGrant) throws(VaultError) -> String {
        let ad = valueAssociatedData(stored)
        let plain = try XChaCha20Poly1305.open(stored.token.sealed, ad: ad, key: dek)
        let value = String(decoding: plain, as: UTF8.self)
        switch grant.mode {
        case .plain: return value
        case .masked: return Mask.mask(value, kind: stored.token.kind)
        }
    }

    /// Whether a stored value authenticates under its data key and associated data. The plaintext is wiped
    /// at once and never returned: this is for `verify`, which reveals nothing and so needs no grant.
    static func authenticates(_ stored: StoredToken, dek: SecureBytes) -> Bool {
        let ad = valueAssociatedData(stored)
        guard var plain = try? XChaCha20Poly1305.open(stored.token.sealed, ad: ad, key: dek) else { return false }
        ConstantTime.wipe(&plain)
        return true
    }

    /// Whether `stored` holds `value` (the deterministic-token collision check). Constant-time comparison:
    /// the stored value is secret.
    static func matches(_ stored: StoredToken, value: String, keyring: Keyring) throws -> Bool {
        let dek = try dataKey(of: stored.subject, keyring: keyring)
        let ad = valueAssociatedData(stored)
        var plain = try XChaCha20Poly1305.open(stored.token.sealed, ad: ad, key: dek)
        defer { ConstantTime.wipe(&plain) }
        return ConstantTime.equal(plain, Array(value.utf8))
    }

    /// What a stored value is sealed against (`Binding.value`): its look-up, subject, kind, data key version
    /// and limits, so a row moved or edited fails authentication.
    private static func valueAssociatedData(_ stored: StoredToken) -> [UInt8] {
        Binding.value(
            lookup: stored.token.lookup,
            subject: stored.subject.name,
            kind: stored.token.kind,
            dekVersion: stored.subject.dekVersion,
            limits: stored.token.limits
        )
    }
}
