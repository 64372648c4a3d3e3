import Foundation

/// Changes to the keyring: each re-reads the stored keyring (so it builds on the latest generation; a file
/// under an exclusive lock, the database's compared and set), applies one change, re-seals the key material
/// with the new metadata as associated data (under the same root key, or a new one for a passphrase or share
/// change), and replaces the stored keyring atomically. The returned keyring is the new one; a running server picks up changes sealed under the root
/// key it holds through `reloadIfChanged`, and must be restarted to follow a new root key.
extension Keyring {
    /// A new KEK version becomes active; the previous active one becomes decrypt-only. New data keys are
    /// wrapped with the new version from now on; existing ones keep working until `rewrap` moves them.
    public func rotateKEK(now: Date = Date()) async throws(VaultError) -> Keyring {
        try await update { file, material in
            material.keks[Self.addActiveVersion(to: &file.keks, now: now)] = SecureBytes(randomCount: 32)
        }
    }

    /// A new token key for deterministic tokens from now on. Existing tokens keep working (a token is found
    /// by its look-up hash, never by re-deriving it), but equal values tokenized after the rotation get new
    /// tokens, so joins across the rotation break (docs/OPERATIONS.md).
    public func rotateTokenKey(now: Date = Date()) async throws(VaultError) -> Keyring {
        try await update { file, material in
            material.tokenKeys[Self.addActiveVersion(to: &file.tokenKeys, now: now)] = SecureBytes(randomCount: 32)
        }
    }

    /// Destroys a KEK version's material. `dataKeysUsingIt` must come from the database at the time of the
    /// call: retiring a version that still wraps data keys would make them unreadable, so it is refused.
    public func retireKEK(version: Int, dataKeysUsingIt: Int) async throws(VaultError) -> Keyring {
        try await update { (file: inout KeyringFile, material: inout KeyMaterial) throws(VaultError) in
            guard let i = file.keks.firstIndex(where: { $0.version == version }) else {
                throw VaultError(.invalidRequest, "there is no KEK v\(version)", hint: "see `cvault keys list`")
            }
            switch file.keks[i].state {
            case .active:
                throw VaultError(
                    .invalidRequest,
                    "KEK v\(version) is the active version and cannot be retired",
                    hint: "run `cvault keys rotate` first, then `cvault keys rewrap`"
                )
            case .retired:
                throw VaultError(.invalidRequest, "KEK v\(version) is already retired", hint: "nothing to do")
            case .decryptOnly:
                guard dataKeysUsingIt == 0 else {
                    throw VaultError(
                        .invalidRequest,
                        "KEK v\(version) still wraps \(dataKeysUsingIt) data key(s)",
                        hint: "run `cvault keys rewrap` to move them to the active KEK, then retire again"
                    )
                }
            }
            file.keks[i].state = .retired
            material.keks[version] = nil  // the SecureBytes is wiped when its last reference goes
        }
    }

    /// Moves the keyring to a new passphrase: a fresh root key, sealed under the passphrase, re-seals all the
    /// key material (KEKs, token keys, look-up key, audit seed), and the file is replaced atomically: a crash
    /// leaves the old keyring (old passphrase) or the new one (new passphrase), never one that neither opens.
    ///
    /// Why a new root key and not just a new seal of the old one: the old passphrase opens the old seal, and
    /// so yields the old root key to anyone who kept an old copy of the file. Were the root key kept, that
    /// root would open every later file's key material too, keys rotated in after the change included; with
    /// a new root, an old passphrase (or old shares) opens only the old file's keys. The keys themselves stay:
    /// changing them is rotation's job (`keys rotate`, `rewrap`, `retire`), since every data key depends on them.
    public func resealed(passphrase: SecureBytes) async throws(VaultError) -> Keyring {
        try await resealed(passphrase: passphrase, kdf: .moderate)
    }

    func resealed(passphrase: SecureBytes, kdf: PassphraseKDF) async throws(VaultError) -> Keyring {
        let root = SecureBytes(randomCount: 32)
        let seal = try Self.sealRoot(root, credential: .passphrase(passphrase), kdf: kdf)
        return try await update(newRoot: root) { file, _ in file.seal = seal }
    }

    /// Moves the keyring to a fresh secret split into `count` Shamir shares, any `threshold` of which open it,
    /// under a new root key (as `resealed(passphrase:)`, and for the same reason: old shares must not open
    /// later files). Returns the new keyring and the shares, which the vault never stores.
    public func resealedWithShares(threshold: Int, count: Int) async throws(VaultError) -> (Keyring, [UnsealShare]) {
        let root = SecureBytes(randomCount: 32)
        let (seal, shares) = try Self.sealRootWithShares(root, threshold: threshold, count: count)
        return (try await update(newRoot: root) { file, _ in file.seal = seal }, shares)
    }

    /// Appends the next version as active and demotes the previous active one to decrypt-only.
    private static func addActiveVersion(to infos: inout [KeyVersionInfo], now: Date) -> Int {
        let next = (infos.map(\.version).max() ?? 0) + 1
        for i in infos.indices where infos[i].state == .active { infos[i].state = .decryptOnly }
        infos.append(KeyVersionInfo(version: next, state: .active, created: iso8601(now)))
        return next
    }

    /// Applies `change` to the latest stored keyring and stores the next generation, its material sealed under
    /// `newRoot` when given (a passphrase or share change) and under the root key held otherwise. The source
    /// makes it one change: a file under its lock, the database by compare-and-set on the generation read.
    func update(
        newRoot: SecureBytes? = nil,
        _ change: (inout KeyringFile, inout KeyMaterial) throws(VaultError) -> Void
    ) async throws(VaultError) -> Keyring {
        try await source.exclusively { () async throws(VaultError) -> Keyring in
            let latest = try await reloadIfChanged() ?? self
            var file = latest.file
            var material = latest.material
            try change(&file, &material)
            file.generation += 1
            let root = newRoot ?? latest.root
            file.sealedKeys = Data(material.sealed(root: root, ad: file.keysAssociatedData)).base64EncodedString()
            try await source.write(file, replacing: latest.file.generation)
            return Keyring(source: source, file: file, root: root, material: material)
        }
    }
}
