import Foundation

/// Changes to the keyring: each re-reads the file under an exclusive lock (so it builds on the latest
/// generation), applies one change, re-seals the key material under the same root key with the new metadata
/// as associated data, and replaces the file atomically. The returned keyring is the new one; a running
/// server picks it up through `reloadIfChanged`.
extension Keyring {
    /// A new KEK version becomes active; the previous active one becomes decrypt-only. New data keys are
    /// wrapped with the new version from now on; existing ones keep working until `rewrap` moves them.
    public func rotateKEK(now: Date = Date()) throws(VaultError) -> Keyring {
        try update { file, material in
            material.keks[Self.addActiveVersion(to: &file.keks, now: now)] = SecureBytes(randomCount: 32)
        }
    }

    /// A new token key for deterministic tokens from now on. Existing tokens keep working (a token is found
    /// by its look-up hash, never by re-deriving it), but equal values tokenized after the rotation get new
    /// tokens, so joins across the rotation break (docs/OPERATIONS.md).
    public func rotateTokenKey(now: Date = Date()) throws(VaultError) -> Keyring {
        try update { file, material in
            material.tokenKeys[Self.addActiveVersion(to: &file.tokenKeys, now: now)] = SecureBytes(randomCount: 32)
        }
    }

    /// Destroys a KEK version's material. `dataKeysUsingIt` must come from the database at the time of the
    /// call: retiring a version that still wraps data keys would make them unreadable, so it is refused.
    public func retireKEK(version: Int, dataKeysUsingIt: Int) throws(VaultError) -> Keyring {
        try update { (file: inout KeyringFile, material: inout KeyMaterial) throws(VaultError) in
            guard let i = file.keks.firstIndex(where: { $0.version == version }) else {
                throw VaultError(.invalidRequest, "there is no KEK v\(version)", hint: "see `cvault keys list`")
            }
            switch file.keks[i].state {
            case .active:
                throw VaultError(.invalidRequest, "KEK v\(version) is the active version and cannot be retired",
                                 hint: "run `cvault keys rotate` first, then `cvault keys rewrap`")
            case .retired:
                throw VaultError(.invalidRequest, "KEK v\(version) is already retired", hint: "nothing to do")
            case .decryptOnly:
                guard dataKeysUsingIt == 0 else {
                    throw VaultError(.invalidRequest, "KEK v\(version) still wraps \(dataKeysUsingIt) data key(s)",
                                     hint: "run `cvault keys rewrap` to move them to the active KEK, then retire again")
                }
            }
            file.keks[i].state = .retired
            material.keks[version] = nil  // the SecureBytes is wiped when its last reference goes
        }
    }

    /// Re-seals the root key under a new passphrase. The file is replaced atomically: a crash leaves the
    /// old keyring (old passphrase) or the new one (new passphrase), never one that neither opens.
    public func resealed(passphrase: SecureBytes) throws(VaultError) -> Keyring {
        try resealed(passphrase: passphrase, kdf: .moderate)
    }

    func resealed(passphrase: SecureBytes, kdf: PassphraseKDF) throws(VaultError) -> Keyring {
        let seal = try Self.sealRoot(root, credential: .passphrase(passphrase), kdf: kdf)
        return try update { file, _ in file.seal = seal }
    }

    /// Re-seals the root key under a fresh secret split into `count` Shamir shares, any `threshold` of which
    /// open the keyring. Returns the new keyring and the shares, which the vault never stores.
    public func resealedWithShares(threshold: Int, count: Int) throws(VaultError) -> (Keyring, [UnsealShare]) {
        let (seal, shares) = try Self.sealRootWithShares(root, threshold: threshold, count: count)
        return (try update { file, _ in file.seal = seal }, shares)
    }

    /// Appends the next version as active and demotes the previous active one to decrypt-only.
    private static func addActiveVersion(to infos: inout [KeyVersionInfo], now: Date) -> Int {
        let next = (infos.map(\.version).max() ?? 0) + 1
        for i in infos.indices where infos[i].state == .active { infos[i].state = .decryptOnly }
        infos.append(KeyVersionInfo(version: next, state: .active, created: iso8601(now)))
        return next
    }

    func update(_ change: (inout KeyringFile, inout KeyMaterial) throws(VaultError) -> Void) throws(VaultError) -> Keyring {
        let lock = try KeyringLock(keyringPath: path)
        defer { withExtendedLifetime(lock) {} }
        let latest = try reloadIfChanged() ?? self
        var file = latest.file
        var material = latest.material
        try change(&file, &material)
        file.generation += 1
        file.sealedKeys = Data(material.sealed(root: root, ad: file.keysAssociatedData)).base64EncodedString()
        try FileSafety.writeAtomically(file.encoded(), to: path)
        return Keyring(path: path, file: file, root: root, material: material)
    }
}
