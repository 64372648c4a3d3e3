import Foundation

/// What opens a keyring: the operator's passphrase, or enough Shamir shares of the unseal secret.
public enum UnsealCredential: Sendable {
    case passphrase(SecureBytes)
    /// At least the threshold of distinct shares written by `init --shares`.
    case shares([UnsealShare])
}

/// Argon2id cost for sealing the root key under a passphrase.
public struct PassphraseKDF: Sendable, Equatable {
    public var opsLimit: UInt64
    public var memLimit: UInt64
    /// libsodium's MODERATE limits (3 passes over 256 MiB): the least cvault writes.
    public static let moderate = PassphraseKDF(opsLimit: Argon2id.moderateOps, memLimit: Argon2id.moderateMem)
    /// Only for unit tests of the keyring itself (reachable through `@testable import` only).
    static let fastForTests = PassphraseKDF(opsLimit: 1, memLimit: 8 * 1024 * 1024)
}

/// The opened keyring: every key cvault holds, each in guarded memory.
///
/// Hierarchy (Keys/README.md): passphrase --Argon2id--> unseal key --seals--> root key --seals--> KEKs,
/// token keys, look-up key, audit signing seed. KEKs wrap per-subject data keys in the database.
public final class Keyring: Sendable {
    /// Where the sealed keyring is kept, and re-read from when another process changes it.
    public let source: any KeyringSource
    public let file: KeyringFile
    let root: SecureBytes
    let material: KeyMaterial
    let auditSigner: Ed25519.SigningKey
    /// Masks the row id inside opaque tokens (`TokenFormat.opaque(id:key:)`). Derived from the look-up key
    /// rather than stored: it must change exactly when the look-up key does, since both find rows.
    let addressKey: SecureBytes
    /// Keys the references that name tokens in the audit log (`Binding.auditReference`). Derived from the
    /// look-up key like `addressKey`, but a key of its own: see `Binding.auditReference` for why.
    let auditReferenceKey: SecureBytes
    /// Keys the references that index audit records by subject (`Binding.subjectReference`).
    let subjectReferenceKey: SecureBytes

    public static let minimumPassphraseBytes = 12

    init(source: any KeyringSource, file: KeyringFile, root: SecureBytes, material: KeyMaterial) {
        self.source = source
        self.file = file
        self.root = root
        self.material = material
        self.auditSigner = Ed25519.SigningKey(seed: material.auditSeed)
        self.addressKey = BLAKE2b.deriveKey(from: material.lookupKey, label: TokenFormat.addressKeyLabel)
        self.auditReferenceKey = BLAKE2b.deriveKey(from: material.lookupKey, label: Binding.auditReferenceKeyLabel)
        self.subjectReferenceKey = BLAKE2b.deriveKey(
            from: material.lookupKey,
            label: Binding.subjectReferenceKeyLabel
        )
        ProcessHardening.disableCoreDumps()
    }

    // MARK: Keys by role

    public var activeKEKVersion: Int { file.activeKEK!.version }
    public var activeTokenKeyVersion: Int { file.activeTokenKey!.version }
    public var generation: Int { file.generation }
    /// How messages name the keyring: the file's path, or the database that keeps it.
    public var path: String { source.name }
    public var auditPublicKey: [UInt8] { auditSigner.publicKey }

    var activeKEK: SecureBytes { material.keks[activeKEKVersion]! }
    func kek(version: Int) -> SecureBytes? { material.keks[version] }
    var activeTokenKey: SecureBytes { material.tokenKeys[activeTokenKeyVersion]! }
    var lookupKey: SecureBytes { material.lookupKey }

    /// How audit records name `subject` for the index (`Binding.subjectReference`).
    public func subjectReference(_ subject: Subject) -> String {
        Binding.subjectReference(subject.name, key: subjectReferenceKey)
    }

    // MARK: Create and open

    /// Creates a new keyring at `path` (which must not exist): a fresh root key, KEK v1, token key v1, a
    /// look-up key and an audit signing key, sealed under the credential.
    public static func create(
        at path: String,
        credential: UnsealCredential,
        now: Date = Date()
    ) throws(VaultError) -> Keyring {
        try create(at: path, credential: credential, kdf: .moderate, now: now)
    }

    static func create(
        at path: String,
        credential: UnsealCredential,
        kdf: PassphraseKDF,
        now: Date
    ) throws(VaultError) -> Keyring {
        let source = FileKeyringSource(path: path)
        // Before the KDF, which takes seconds: a keyring already there is refused at once.
        try source.refuseExisting()
        let root = SecureBytes(randomCount: 32)
        let (file, material) = fresh(seal: try sealRoot(root, credential: credential, kdf: kdf), root: root, now: now)
        try source.write(file, replacing: nil)
        return Keyring(source: source, file: file, root: root, material: material)
    }

    /// Creates a new keyring in `source` (a database's, `StoreKeyringSource`), as `create(at:credential:)`
    /// does in a file. Refused when the source already holds one.
    public static func create(
        in source: any KeyringSource,
        credential: UnsealCredential,
        now: Date = Date()
    ) async throws(VaultError) -> Keyring {
        try await create(in: source, credential: credential, kdf: .moderate, now: now)
    }

    static func create(
        in source: any KeyringSource,
        credential: UnsealCredential,
        kdf: PassphraseKDF,
        now: Date
    ) async throws(VaultError) -> Keyring {
        let root = SecureBytes(randomCount: 32)
        let seal = try sealRoot(root, credential: credential, kdf: kdf)
        return try await store(fresh(seal: seal, root: root, now: now), root: root, in: source)
    }

    /// Creates a new keyring in `source` sealed by shares, as `createWithShares(at:threshold:count:)`.
    public static func createWithShares(
        in source: any KeyringSource,
        threshold: Int,
        count: Int,
        now: Date = Date()
    ) async throws(VaultError) -> (Keyring, [UnsealShare]) {
        let root = SecureBytes(randomCount: 32)
        let (seal, shares) = try sealRootWithShares(root, threshold: threshold, count: count)
        return (try await store(fresh(seal: seal, root: root, now: now), root: root, in: source), shares)
    }

    private static func store(
        _ made: (file: KeyringFile, material: KeyMaterial),
        root: SecureBytes,
        in source: any KeyringSource
    ) async throws(VaultError) -> Keyring {
        try await source.write(made.file, replacing: nil)
        return Keyring(source: source, file: made.file, root: root, material: made.material)
    }

    /// A new keyring's file and key material: KEK v1, token key v1, a look-up key and an audit signing key,
    /// sealed under `root`. Generation 1; nothing is stored yet.
    private static func fresh(
        seal: SealInfo,
        root: SecureBytes,
        now: Date
    ) -> (file: KeyringFile, material: KeyMaterial) {
        let created = iso8601(now)
        let material = KeyMaterial(
            keks: [1: SecureBytes(randomCount: 32)],
            tokenKeys: [1: SecureBytes(randomCount: 32)],
            lookupKey: SecureBytes(randomCount: 32),
            auditSeed: SecureBytes(randomCount: 32)
        )
        let signer = Ed25519.SigningKey(seed: material.auditSeed)
        var file = KeyringFile(
            format: KeyringFile.formatName,
            formatVersion: 1,
            generation: 1,
            seal: seal,
            keks: [KeyVersionInfo(version: 1, state: .active, created: created)],
            tokenKeys: [KeyVersionInfo(version: 1, state: .active, created: created)],
            auditPublicKey: Hex.encode(signer.publicKey),
            sealedKeys: ""
        )
        file.sealedKeys = Data(material.sealed(root: root, ad: file.keysAssociatedData)).base64EncodedString()
        return (file, material)
    }

    /// Creates a new keyring whose root key is sealed under a secret split into `count` Shamir shares, any
    /// `threshold` of which open it. The shares are returned once and never stored by the vault.
    public static func createWithShares(
        at path: String,
        threshold: Int,
        count: Int,
        now: Date = Date()
    ) throws(VaultError) -> (Keyring, [UnsealShare]) {
        let source = FileKeyringSource(path: path)
        try source.refuseExisting()
        let root = SecureBytes(randomCount: 32)
        let (seal, shares) = try sealRootWithShares(root, threshold: threshold, count: count)
        let (file, material) = fresh(seal: seal, root: root, now: now)
        try source.write(file, replacing: nil)
        return (Keyring(source: source, file: file, root: root, material: material), shares)
    }

    /// Opens the keyring at `path`. A wrong passphrase is `.wrongPassphrase`; an edited file is `.integrity`.
    public static func open(at path: String, credential: UnsealCredential) throws(VaultError) -> Keyring {
        let source = FileKeyringSource(path: path)
        return try open(source.read(), from: source, credential: credential)
    }

    /// Opens the keyring kept in `source`, as `open(at:credential:)` does a file.
    public static func open(
        from source: any KeyringSource,
        credential: UnsealCredential
    ) async throws(VaultError)
        -> Keyring
    {
        try open(await source.read(), from: source, credential: credential)
    }

    private static func open(
        _ file: KeyringFile,
        from source: any KeyringSource,
        credential: UnsealCredential
    ) throws(VaultError) -> Keyring {
        let root = try unsealRoot(file.seal, credential: credential, path: source.name)
        return try Keyring(source: source, file: file, root: root)
    }

    private convenience init(source: any KeyringSource, file: KeyringFile, root: SecureBytes) throws(VaultError) {
        let path = source.name
        guard let sealed = Data(base64Encoded: file.sealedKeys) else { throw Self.malformed(path) }
        let opened = Result { () throws(VaultError) -> KeyMaterial in
            try KeyMaterial.open([UInt8](sealed), root: root, ad: file.keysAssociatedData)
        }
        let material: KeyMaterial
        switch opened {
        case .success(let m): material = m
        case .failure(let error) where error.code == .integrity:
            throw VaultError(
                .integrity,
                "keyring \(path) was altered: its metadata or key material fails authentication",
                hint: "restore the keyring from its backup"
            )
        case .failure(let error): throw error
        }
        try Self.checkConsistency(file, material, path: path)
        self.init(source: source, file: file, root: root, material: material)
    }

    /// Re-reads the keyring if another process changed it (a rotation made with the CLI while a server runs),
    /// opening it with the root key already held. Returns nil when nothing changed.
    ///
    /// A keyring sealed under another root key (the passphrase or shares changed since this process opened
    /// it) cannot be opened with the root held here, by design (`resealed(passphrase:)`): that is reported as
    /// such, and this process keeps the keys it holds until it is restarted with the new passphrase or shares.
    public func reloadIfChanged() async throws(VaultError) -> Keyring? {
        guard let current = try await source.changed(since: file.generation) else { return nil }
        guard current.seal == file.seal else {
            throw VaultError(
                .sealed,
                "keyring \(path) was re-sealed under a new root key (its passphrase or shares changed) "
                    + "after this process opened it",
                hint: "restart this cvault process with the new passphrase or shares to pick up later key changes"
            )
        }
        return try Keyring(source: source, file: current, root: root)
    }

    // MARK: Sealing the root key

    static func sealRoot(
        _ root: SecureBytes,
        credential: UnsealCredential,
        kdf: PassphraseKDF
    ) throws(VaultError) -> SealInfo {
        switch credential {
        case .shares:
            throw VaultError(
                .invalidRequest,
                "existing shares cannot seal a new keyring",
                hint: "use createWithShares or a passphrase"
            )
        case .passphrase(let passphrase):
            guard passphrase.count >= minimumPassphraseBytes else {
                throw VaultError(
                    .invalidRequest,
                    "the passphrase is shorter than \(minimumPassphraseBytes) characters",
                    hint: "choose a longer passphrase (a few random words work well)"
                )
            }
            let salt = SecureRandom.bytes(Argon2id.saltBytes)
            var seal = SealInfo(
                method: "passphrase",
                kdf: Argon2id.algorithmName,
                salt: Data(salt).base64EncodedString(),
                opslimit: kdf.opsLimit,
                memlimit: kdf.memLimit,
                threshold: nil,
                shares: nil,
                sealedRoot: ""
            )
            let key = try Argon2id.deriveKey(
                passphrase: passphrase,
                salt: salt,
                opsLimit: kdf.opsLimit,
                memLimit: kdf.memLimit
            )
            seal.sealedRoot = Data(XChaCha20Poly1305.seal(root, ad: seal.associatedData, key: key))
                .base64EncodedString()
            return seal
        }
    }

    /// Seals the root key under BLAKE2b-derived key of a fresh 32-byte secret, and splits the secret.
    static func sealRootWithShares(
        _ root: SecureBytes,
        threshold: Int,
        count: Int
    ) throws(VaultError) -> (SealInfo, [UnsealShare]) {
        guard (2...16).contains(threshold), (threshold...16).contains(count) else {
            throw VaultError.invalidRequest(
                "shares must be 2 to 16 with a threshold from 2 to the number of shares",
                hint: "for example 5 shares with a threshold of 3",
                field: .shares
            )
        }
        let secret = SecureBytes(randomCount: 32)
        let setID = Hex.encode(SecureRandom.bytes(8))
        var seal = SealInfo.shamir(setID: setID, threshold: threshold, shares: count)
        let key = BLAKE2b.deriveKey(from: secret, label: shamirLabel)
        seal.sealedRoot = Data(XChaCha20Poly1305.seal(root, ad: seal.associatedData, key: key)).base64EncodedString()
        let shares = Shamir.split(secret, threshold: threshold, count: count).map {
            UnsealShare(setID: setID, threshold: threshold, index: $0.x, y: $0.y)
        }
        return (seal, shares)
    }

    /// Domain label turning the recovered Shamir secret into the key that seals the root key.
    static let shamirLabel = "cvault.shamir.unseal.v1"

    static func unsealRoot(
        _ seal: SealInfo,
        credential: UnsealCredential,
        path: String
    ) throws(VaultError) -> SecureBytes {
        switch credential {
        case .shares(let shares):
            guard seal.method == "shamir" else {
                throw VaultError(
                    .keyring,
                    "keyring \(path) is sealed by a passphrase, not by shares",
                    hint: "open it with its passphrase"
                )
            }
            guard let sealed = Data(base64Encoded: seal.sealedRoot) else { throw malformed(path) }
            let secret = try UnsealShare.combine(shares, seal: seal)
            let key = BLAKE2b.deriveKey(from: secret, label: shamirLabel)
            do {
                return try XChaCha20Poly1305.openKey([UInt8](sealed), ad: seal.associatedData, key: key)
            } catch {
                throw VaultError(
                    .wrongPassphrase,
                    "the shares do not open keyring \(path) (one is altered, or they are of another vault)",
                    hint: "check each share against its original"
                )
            }
        case .passphrase(let passphrase):
            guard seal.method == "passphrase", seal.kdf == Argon2id.algorithmName,
                let saltText = seal.salt, let salt = Data(base64Encoded: saltText), salt.count == Argon2id.saltBytes,
                let ops = seal.opslimit, let mem = seal.memlimit
            else {
                throw VaultError(
                    .keyring,
                    "keyring \(path) is not sealed by a passphrase (method \(seal.method))",
                    hint: "open it with the unseal method it was created with"
                )
            }
            guard let sealed = Data(base64Encoded: seal.sealedRoot) else { throw malformed(path) }
            // Parameters are authenticated only once the root opens, so bound them first: an edited keyring
            // must fail fast, not run Argon2id for hours.
            guard ops <= 64, mem <= 64 << 30 else {
                throw VaultError(
                    .keyring,
                    "keyring \(path) asks for implausible Argon2id parameters (opslimit \(ops), memlimit \(mem >> 20) MiB)",
                    hint: "the keyring was altered; restore it from its backup"
                )
            }
            let key = try Argon2id.deriveKey(passphrase: passphrase, salt: [UInt8](salt), opsLimit: ops, memLimit: mem)
            do {
                return try XChaCha20Poly1305.openKey([UInt8](sealed), ad: seal.associatedData, key: key)
            } catch {
                // AEAD failure cannot tell a wrong passphrase from an edited seal; the wrong passphrase is
                // by far the likelier, and neither reveals anything.
                throw VaultError.about(
                    .passphrase,
                    .wrongPassphrase,
                    "the passphrase does not open keyring \(path)",
                    hint: "check the passphrase given; " + VaultError.keyringUnchanged
                )
            }
        }
    }

    // MARK: Checks

    private static func checkConsistency(_ file: KeyringFile, _ material: KeyMaterial, path: String) throws(VaultError)
    {
        func check(_ infos: [KeyVersionInfo], _ keys: [Int: SecureBytes], _ family: String) throws(VaultError) {
            guard infos.filter({ $0.state == .active }).count == 1 else {
                throw VaultError(
                    .keyring,
                    "keyring \(path) must have exactly one active \(family)",
                    hint: "restore it from its backup"
                )
            }
            for info in infos where (info.state == .retired) != (keys[info.version] == nil) {
                throw VaultError(
                    .keyring,
                    "keyring \(path): \(family) v\(info.version) state and material disagree",
                    hint: "restore it from its backup"
                )
            }
        }
        try check(file.keks, material.keks, "KEK")
        try check(file.tokenKeys, material.tokenKeys, "token key")
    }

    private static func malformed(_ path: String) -> VaultError {
        VaultError(.keyring, "keyring \(path) is malformed", hint: "restore it from its backup")
    }

    static func iso8601(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

extension VaultError {
    /// Said with a wrong passphrase: a failed open changes nothing.
    public static let keyringUnchanged = "the keyring itself is unchanged"
}

/// Lower-case hex, for public values (keys' public halves, hashes) in files and output.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of one hex digit (either case), or nil.
    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        for i in stride(from: 0, to: chars.count, by: 2) {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }
}
