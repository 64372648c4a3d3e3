import VaultCore

#if canImport(Glibc)
import Glibc
#endif

/// A keyring file through `KeyringFile.read` (written to a private file first, since that is what the parser
/// reads), then, for a file that parses, the unseal step `Keyring.open` runs with shares: the seal's fields
/// and the shares' checks, up to the authenticated decryption (which fuzzed bytes cannot pass). The
/// passphrase unseal is left out: it runs Argon2id with the file's own cost parameters, by design.
enum KeyringHarness {
    static let path = FuzzFolder.path + "/input.keyring"

    static func run(_ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { fatalError("fuzz harness: cannot write \(path)") }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                guard n > 0 else { fatalError("fuzz harness: cannot write \(path)") }
                offset += n
            }
        }
        close(fd)
        guard let file = try? KeyringFile.read(at: path) else { return }
        _ = file.activeKEK
        _ = file.activeTokenKey
        let setID = file.seal.salt ?? ""
        let shares = (1...3).map {
            FuzzEntryPoints.share(
                setID: setID,
                threshold: file.seal.threshold ?? 2,
                index: UInt8($0),
                y: [UInt8](repeating: UInt8($0), count: 32)
            )
        }
        _ = try? FuzzEntryPoints.unsealWithShares(file, shares: shares, path: path)
    }
}
