import CSodium

/// SHA-256 (`crypto_hash_sha256`), for public file fingerprints only.
///
/// Why SHA-256 and not BLAKE2b: the one use is a policy file's fingerprint in the audit log, which an operator
/// must be able to compare with `sha256sum policy.yaml` on any machine. It never hashes a customer value or
/// a secret (those go through keyed BLAKE2b).
public enum SHA256 {
    public static let outputBytes = Int(crypto_hash_sha256_BYTES)

    public static func hash(_ data: [UInt8]) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: outputBytes)
        _ = crypto_hash_sha256(&out, data, UInt64(data.count))
        return out
    }
}
