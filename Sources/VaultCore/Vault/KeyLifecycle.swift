/// The operator's key operations on a vault (`cvault keys …`): each makes one `Keyring` change and writes its
/// own audit records, a `started` one before the keyring file changes (so a kill between the two still
/// leaves a trace) and one with the outcome after. `rewrap` (Rewrap.swift) follows the same pattern.
///
/// These are admin operations: no policy decides them and there is no `Caller`; the records carry the
/// operator's uid. Each returns the new keyring; this vault keeps the one it holds until
/// `reloadKeyringIfChanged` picks the change up (a passphrase change needs a restart: a new root key).
/// A new vault's `init` record, naming the keys it starts with, is written here too.
extension Vault {
    /// Records a new vault's creation (`init`): the key versions it starts with and the audit public key that
    /// verifies its log from the first record on.
    public func recordCreation() async throws(VaultError) {
        let keyring = self.keyring
        try await audit(
            .`init`,
            caller: nil,
            detail: "kek v\(keyring.activeKEKVersion), token key v\(keyring.activeTokenKeyVersion), "
                + "audit key \(Hex.encode(keyring.auditPublicKey))"
        )
    }

    /// Makes a new KEK version active; the previous one becomes decrypt-only (`Keyring.rotateKEK`).
    public func rotateKEK(uid: UInt32) async throws(VaultError) -> Keyring {
        try await change(.rotateKEK, uid: uid)
    }

    /// Makes a new token key active for deterministic tokens from now on (`Keyring.rotateTokenKey`).
    public func rotateTokenKey(uid: UInt32) async throws(VaultError) -> Keyring {
        try await change(.rotateTokenKey, uid: uid)
    }

    /// Destroys a decrypt-only KEK version's material (`Keyring.retireKEK`), counting the data keys that still
    /// use it in the store at the time of the call. A refusal (the version is active, already retired, still
    /// in use or unknown) is recorded as `refused` with its message, then thrown.
    @discardableResult
    public func retireKEK(version: Int, uid: UInt32) async throws(VaultError) -> Keyring {
        let inUse = try await stats().dataKeysByKEK[version] ?? 0
        return try await change(.retireKEK(version: version, dataKeysUsingIt: inUse), uid: uid)
    }

    /// Re-seals the keyring under a new passphrase and a new root key (`Keyring.resealed(passphrase:)`).
    @discardableResult
    public func changePassphrase(to passphrase: SecureBytes, uid: UInt32) async throws(VaultError) -> Keyring {
        try await change(.passphrase(passphrase), uid: uid)
    }

    /// Writes the change's `started` record, makes the change to the keyring in force, and writes its `ok`
    /// record. A retirement that fails (in the change or in its `ok` record) is also recorded as `refused`
    /// before it is thrown; for the others the `started` record alone marks the attempt.
    private func change(_ change: KeyChange, uid: UInt32) async throws(VaultError) -> Keyring {
        let keyring = self.keyring
        try await audit(change.event, caller: nil, uid: uid, outcome: .started, detail: change.started(keyring))
        do {
            let changed = try await change.apply(to: keyring)
            try await audit(change.event, caller: nil, uid: uid, detail: change.done(changed))
            return changed
        } catch {
            if case .retireKEK(let version, _) = change {
                try? await audit(
                    change.event,
                    caller: nil,
                    uid: uid,
                    outcome: .refused,
                    detail: "KEK v\(version): \(error.message)"
                )
            }
            throw error
        }
    }
}

/// One operator change to the keyring, and what its audit records say.
private enum KeyChange {
    case rotateKEK
    case rotateTokenKey
    case retireKEK(version: Int, dataKeysUsingIt: Int)
    case passphrase(SecureBytes)

    var event: AuditEvent.Event {
        switch self {
        case .rotateKEK: .keyRotate
        case .rotateTokenKey: .keyRotateToken
        case .retireKEK: .keyRetire
        case .passphrase: .keyPassphrase
        }
    }

    /// The `started` record's detail: where the change starts from.
    func started(_ keyring: Keyring) -> String {
        switch self {
        case .rotateKEK: "rotating from KEK v\(keyring.activeKEKVersion)"
        case .rotateTokenKey: "rotating from token key v\(keyring.activeTokenKeyVersion)"
        case .retireKEK(let version, let inUse): "KEK v\(version), \(inUse) data key(s) use it"
        case .passphrase: "re-sealing the keyring under a new passphrase"
        }
    }

    func apply(to keyring: Keyring) async throws(VaultError) -> Keyring {
        switch self {
        case .rotateKEK: try await keyring.rotateKEK()
        case .rotateTokenKey: try await keyring.rotateTokenKey()
        case .retireKEK(let version, let inUse): try await keyring.retireKEK(version: version, dataKeysUsingIt: inUse)
        case .passphrase(let passphrase): try await keyring.resealed(passphrase: passphrase)
        }
    }

    /// The `ok` record's detail, from the new keyring.
    func done(_ changed: Keyring) -> String {
        switch self {
        case .rotateKEK: "KEK v\(changed.activeKEKVersion) active, keyring generation \(changed.generation)"
        case .rotateTokenKey: "token key v\(changed.activeTokenKeyVersion) active"
        case .retireKEK(let version, _): "KEK v\(version) retired, keyring generation \(changed.generation)"
        case .passphrase: "keyring re-sealed under a new passphrase, generation \(changed.generation)"
        }
    }
}
