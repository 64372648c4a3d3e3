import Foundation

/// A key version's public facts: which version, in what state, since when. Key bytes are never here.
public struct KeyVersionInfo: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// Wraps new data keys (KEK) or makes new deterministic tokens (token key). Exactly one per family.
        case active
        /// Still opens what it wrapped, wraps nothing new.
        case decryptOnly = "decrypt-only"
        /// Material destroyed: nothing it wrapped can be opened any more.
        case retired
    }
    public var version: Int
    public var state: State
    /// ISO 8601, UTC.
    public var created: String
}

/// How the root key is sealed: under a passphrase (Argon2id) or under a secret split into Shamir shares.
public struct SealInfo: Codable, Sendable, Equatable {
    public var method: String
    public var kdf: String?
    public var salt: String?
    public var opslimit: UInt64?
    public var memlimit: UInt64?
    public var threshold: Int?
    public var shares: Int?
    /// base64 of `nonce || ciphertext || tag`: the 32-byte root key under the unseal key.
    public var sealedRoot: String

    enum CodingKeys: String, CodingKey {
        case method, kdf, salt, opslimit, memlimit, threshold, shares
        case sealedRoot = "sealed_root"
    }

    /// The associated data of `sealedRoot`: binds the KDF parameters, so a keyring edited to weaker
    /// parameters does not open.
    var associatedData: [UInt8] {
        func text(_ n: (some CustomStringConvertible)?) -> String { n.map { $0.description } ?? "" }
        let parts: [String] = [
            method, text(kdf), text(salt), text(opslimit), text(memlimit), text(threshold), text(shares),
        ]
        return Array(("cvault.keyring.root.v1|" + parts.joined(separator: "|")).utf8)
    }

    /// A root key sealed under a Shamir-split secret: the share set's id (in `salt`), how many shares open
    /// it, and how many were written (nil where only the threshold matters, to combine shares).
    static func shamir(setID: String, threshold: Int, shares: Int?, sealedRoot: String = "") -> SealInfo {
        SealInfo(
            method: "shamir",
            kdf: nil,
            salt: setID,
            opslimit: nil,
            memlimit: nil,
            threshold: threshold,
            shares: shares,
            sealedRoot: sealedRoot
        )
    }
}

/// The keyring file as stored (JSON, mode 0600). Documented in Keys/README.md.
///
/// Everything in the clear here is public metadata. The root key is sealed in `seal.sealedRoot`; every other
/// key is in `sealedKeys`, sealed under the root key with this metadata as associated data, so editing any
/// of it (a state, a version, the audit public key) makes the keyring fail to open.
public struct KeyringFile: Codable, Sendable, Equatable {
    public static let formatName = "cvault-keyring"
    public var format: String
    public var formatVersion: Int
    /// Incremented on every write; a server re-reads the keyring when it changes.
    public var generation: Int
    public var seal: SealInfo
    public var keks: [KeyVersionInfo]
    public var tokenKeys: [KeyVersionInfo]
    /// Hex of the Ed25519 public key that verifies audit seals.
    public var auditPublicKey: String
    /// base64 of `nonce || ciphertext || tag` of the key material (see `KeyMaterial`).
    public var sealedKeys: String

    enum CodingKeys: String, CodingKey {
        case format, generation, seal, keks
        case formatVersion = "format_version"
        case tokenKeys = "token_keys"
        case auditPublicKey = "audit_public_key"
        case sealedKeys = "sealed_keys"
    }

    /// Associated data of `sealedKeys`: a canonical rendering of every public field (not JSON text, whose
    /// spacing and key order are not fixed).
    var keysAssociatedData: [UInt8] {
        func render(_ infos: [KeyVersionInfo]) -> String {
            infos.map { "\($0.version):\($0.state.rawValue):\($0.created)" }.joined(separator: ",")
        }
        let text =
            "cvault.keyring.keys.v1|\(formatVersion)|\(generation)|kek=\(render(keks))|"
            + "token=\(render(tokenKeys))|audit=\(auditPublicKey)"
        return Array(text.utf8)
    }

    public var activeKEK: KeyVersionInfo? { keks.first { $0.state == .active } }
    public var activeTokenKey: KeyVersionInfo? { tokenKeys.first { $0.state == .active } }

    /// Reads and parses a keyring file, refusing one that group or others can read. Needs no secret.
    public static func read(at path: String) throws(VaultError) -> KeyringFile {
        try FileSafety.requirePrivate(path, what: "keyring")
        return try decode(FileSafety.readAll(path, what: "keyring"), source: path)
    }

    /// Parses a keyring's stored bytes (a file's, or the copy a database keeps); `source` names it in errors.
    public static func decode(_ bytes: [UInt8], source: String) throws(VaultError) -> KeyringFile {
        let file: KeyringFile
        do {
            file = try JSONDecoder().decode(KeyringFile.self, from: Data(bytes))
        } catch {
            throw VaultError(
                .keyring,
                "keyring \(source) is not a valid keyring file",
                hint: "restore it from your keyring backup"
            )
        }
        guard file.format == formatName, file.formatVersion == 1 else {
            throw VaultError(
                .keyring,
                "keyring \(source) has format \(file.format) v\(file.formatVersion); this cvault reads \(formatName) v1",
                hint: "use the cvault version that wrote it"
            )
        }
        return file
    }

    /// The bytes every source stores: sorted, pretty-printed JSON and a newline.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain structs of strings and integers cannot fail.
        return Array(try! encoder.encode(self)) + [0x0A]
    }
}
