import CSodium

/// Ed25519 signatures (`crypto_sign_*`), used to seal the audit chain's head.
///
/// Why Ed25519: deterministic signatures (no per-signature randomness to get wrong), small keys, and a
/// public half a reviewer can hold to verify the audit log without any secret.
public enum Ed25519 {
    public static let seedBytes = Int(crypto_sign_SEEDBYTES)
    public static let publicKeyBytes = Int(crypto_sign_PUBLICKEYBYTES)
    public static let signatureBytes = Int(crypto_sign_BYTES)

    /// A signing key: the 64-byte libsodium secret key (seed || public key) in guarded memory.
    public struct SigningKey: Sendable, CustomStringConvertible {
        let secret: SecureBytes
        public let publicKey: [UInt8]

        /// Derives the key pair from a 32-byte seed.
        public init(seed: SecureBytes) {
            precondition(seed.count == Ed25519.seedBytes, "Ed25519 seed must be 32 bytes")
            Sodium.ensureReady()
            var pk = [UInt8](repeating: 0, count: Ed25519.publicKeyBytes)
            secret = SecureBytes.filled(count: Int(crypto_sign_SECRETKEYBYTES)) { sk in
                seed.withUnsafeBytes { s in
                    _ = crypto_sign_seed_keypair(
                        &pk,
                        sk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        s.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    )
                }
            }
            publicKey = pk
        }

        public func sign(_ message: [UInt8]) -> [UInt8] {
            var signature = [UInt8](repeating: 0, count: Ed25519.signatureBytes)
            secret.withUnsafeBytes { sk in
                _ = crypto_sign_detached(
                    &signature,
                    nil,
                    message,
                    UInt64(message.count),
                    sk.baseAddress!.assumingMemoryBound(to: UInt8.self)
                )
            }
            return signature
        }

        public var description: String { "Ed25519.SigningKey(redacted)" }
    }

    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        Sodium.ensureReady()
        guard signature.count == signatureBytes, publicKey.count == publicKeyBytes else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }
}
