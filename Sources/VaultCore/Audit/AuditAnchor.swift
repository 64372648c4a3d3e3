import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The last sealed head, kept outside the database (`<keys>/audit.anchor`, beside the keyring) so that whoever
/// can write the database cannot also move it: a chain rewritten after a seal no longer reaches the anchor.
///
/// Signed with the audit key over `"cvault.audit.anchor.v1" || 0x00 || epoch || seq || hash` (8-byte
/// big-endian integers). Not the seal message: the anchor also binds `epoch`, which counts the times an
/// operator deliberately moved it off the chain (`cvault audit accept`, `cvault restore --accept-rollback`),
/// so an older anchor copied back over a newer one is recognised as older.
public struct AuditAnchor: Sendable, Equatable {
    public var epoch: Int64
    public var seq: Int64
    public var hash: [UInt8]
    public var signature: [UInt8]

    public static let fileName = "audit.anchor"
    static let label = "cvault.audit.anchor.v1"

    /// Where the anchor of the vault whose keyring is at `keyringPath` lives.
    public static func path(keyringPath: String) -> String {
        let folder = (keyringPath as NSString).deletingLastPathComponent
        return (folder.isEmpty ? "." : folder) + "/" + fileName
    }

    static func message(epoch: Int64, seq: Int64, hash: [UInt8]) -> [UInt8] {
        var message = Array(label.utf8)
        message.append(0)
        message += withUnsafeBytes(of: UInt64(truncatingIfNeeded: epoch).bigEndian) { Array($0) }
        message += withUnsafeBytes(of: UInt64(truncatingIfNeeded: seq).bigEndian) { Array($0) }
        message += hash
        return message
    }

    static func signed(epoch: Int64, seq: Int64, hash: [UInt8], signer: Ed25519.SigningKey) -> AuditAnchor {
        AuditAnchor(
            epoch: epoch,
            seq: seq,
            hash: hash,
            signature: signer.sign(message(epoch: epoch, seq: seq, hash: hash))
        )
    }

    public func isSigned(by publicKey: [UInt8]) -> Bool {
        Ed25519.verify(
            signature: signature,
            message: Self.message(epoch: epoch, seq: seq, hash: hash),
            publicKey: publicKey
        )
    }

    // MARK: The file

    private struct File: Codable {
        var format: String
        var epoch: Int64
        var seq: Int64
        var hash: String
        var signature: String
    }
    static let formatName = "cvault-audit-anchor-v1"

    func encoded() -> [UInt8] {
        let file = File(
            format: Self.formatName,
            epoch: epoch,
            seq: seq,
            hash: Hex.encode(hash),
            signature: Hex.encode(signature)
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // A struct of strings and integers always encodes.
        return Array(try! encoder.encode(file)) + [0x0A]
    }

    /// The anchor at `path`; nil if there is no file. A file that is not an anchor is `.audit`.
    public static func read(at path: String) throws(VaultError) -> AuditAnchor? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes = try FileSafety.readAll(path, what: "audit anchor")
        guard let file = try? JSONDecoder().decode(File.self, from: Data(bytes)), file.format == formatName,
            file.seq >= 0, file.epoch >= 0, let hash = Hex.decode(file.hash), hash.count == 32,
            let signature = Hex.decode(file.signature)
        else {
            throw VaultError(
                .audit,
                "audit anchor \(path) is malformed",
                hint: "restore it from a copy, or run `cvault audit verify` and then `cvault audit accept`"
            )
        }
        return AuditAnchor(epoch: file.epoch, seq: file.seq, hash: hash, signature: signature)
    }

    /// Writes `self` at `path` (atomically, mode 0600, under `path.lock` so processes sharing the vault write
    /// one at a time) unless the file already holds an anchor this one must not replace: one of a later
    /// epoch, or of this epoch at the same or a later record (a seal committed after ours by another process).
    /// With `newEpoch` (an operator's accept or restore) it replaces any anchor of an earlier epoch.
    /// Returns whether it wrote.
    @discardableResult
    func store(at path: String, publicKey: [UInt8], newEpoch: Bool = false) throws(VaultError) -> Bool {
        let lock = try KeyringLock(lockPath: path + ".lock")
        defer { withExtendedLifetime(lock) {} }
        if let current = try? Self.read(at: path), current.isSigned(by: publicKey) {
            if newEpoch
                ? current.epoch >= epoch : (current.epoch > epoch || (current.epoch == epoch && current.seq >= seq))
            {
                return false
            }
        }
        try FileSafety.writeAtomically(encoded(), to: path)
        return true
    }
}
