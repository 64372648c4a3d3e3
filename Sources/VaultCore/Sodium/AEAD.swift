import CSodium

/// XChaCha20-Poly1305 (IETF), libsodium's `crypto_aead_xchacha20poly1305_ietf_*`.
///
/// Why this AEAD: its 192-bit nonce is safe to draw at random for every message, so no nonce counter has
/// to survive crashes or be shared between processes, and it needs no AES hardware to be fast and
/// constant-time. The associated data is authenticated but not encrypted: cvault puts there what a
/// ciphertext belongs to (its row), so a ciphertext moved to another row fails to open.
public enum XChaCha20Poly1305 {
    public static let keyBytes = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    public static let nonceBytes = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    public static let tagBytes = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)
    /// Bytes a sealed box adds to its plaintext: nonce in front, tag behind.
    public static let overhead = nonceBytes + tagBytes

    /// Seals with a fresh random nonce and returns `nonce || ciphertext || tag`.
    public static func seal(_ plaintext: UnsafeRawBufferPointer, ad: [UInt8], key: SecureBytes) -> [UInt8] {
        precondition(key.count == keyBytes, "XChaCha20-Poly1305 needs a 32-byte key")
        Sodium.ensureReady()
        return [UInt8](unsafeUninitializedCapacity: plaintext.count + overhead) { out, initialized in
            let base = out.baseAddress!
            randombytes_buf(base, nonceBytes)
            encrypt(into: base + nonceBytes, plaintext, ad: ad, nonce: base, key: key)
            initialized = plaintext.count + overhead
        }
    }

    public static func seal(_ plaintext: [UInt8], ad: [UInt8], key: SecureBytes) -> [UInt8] {
        plaintext.withUnsafeBytes { seal($0, ad: ad, key: key) }
    }

    /// Seals the contents of guarded memory (a key being wrapped).
    public static func seal(_ secret: SecureBytes, ad: [UInt8], key: SecureBytes) -> [UInt8] {
        secret.withUnsafeBytes { seal($0, ad: ad, key: key) }
    }

    /// Deterministic form for known-answer tests: returns `ciphertext || tag` under the given nonce.
    public static func seal(_ plaintext: [UInt8], ad: [UInt8], nonce: [UInt8], key: SecureBytes) -> [UInt8] {
        precondition(key.count == keyBytes && nonce.count == nonceBytes, "bad key or nonce size")
        Sodium.ensureReady()
        return [UInt8](unsafeUninitializedCapacity: plaintext.count + tagBytes) { out, initialized in
            plaintext.withUnsafeBytes { p in
                nonce.withUnsafeBufferPointer { n in
                    encrypt(into: out.baseAddress!, p, ad: ad, nonce: n.baseAddress!, key: key)
                }
            }
            initialized = plaintext.count + tagBytes
        }
    }

    /// Opens `nonce || ciphertext || tag`. Any change to the box, the associated data or the key gives
    /// `VaultError.integrity`, never wrong plaintext.
    public static func open(_ box: [UInt8], ad: [UInt8], key: SecureBytes) throws(VaultError) -> [UInt8] {
        guard box.count >= overhead else { throw .integrityFailure }
        let length = box.count - overhead
        var failed = false
        let plain = [UInt8](unsafeUninitializedCapacity: max(length, 1)) { out, initialized in
            failed =
                box.withUnsafeBytes { b in
                    decrypt(into: out.baseAddress!, b, ad: ad, key: key)
                } != 0
            initialized = failed ? 0 : length
        }
        if failed { throw .integrityFailure }
        return plain
    }

    /// Opens a wrapped key straight into guarded memory, so the unwrapped key never sits in the heap.
    public static func openKey(_ box: [UInt8], ad: [UInt8], key: SecureBytes) throws(VaultError) -> SecureBytes {
        guard box.count > overhead else { throw .integrityFailure }
        var rc: Int32 = 0
        let secret = SecureBytes.filled(count: box.count - overhead) { out in
            rc = box.withUnsafeBytes { b in decrypt(into: out.baseAddress!, b, ad: ad, key: key) }
        }
        if rc != 0 { throw .integrityFailure }
        return secret
    }

    /// Deterministic form for known-answer tests: opens `ciphertext || tag` under the given nonce.
    public static func open(
        _ sealed: [UInt8],
        ad: [UInt8],
        nonce: [UInt8],
        key: SecureBytes
    ) throws(VaultError) -> [UInt8] {
        guard nonce.count == nonceBytes, sealed.count >= tagBytes else { throw .integrityFailure }
        return try open(nonce + sealed, ad: ad, key: key)
    }

    private static func encrypt(
        into out: UnsafeMutableRawPointer,
        _ plaintext: UnsafeRawBufferPointer,
        ad: [UInt8],
        nonce: UnsafeRawPointer,
        key: SecureBytes
    ) {
        key.withUnsafeBytes { k in
            ad.withUnsafeBufferPointer { a in
                _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                    out.assumingMemoryBound(to: UInt8.self),
                    nil,
                    plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    UInt64(plaintext.count),
                    a.baseAddress,
                    UInt64(a.count),
                    nil,
                    nonce.assumingMemoryBound(to: UInt8.self),
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self)
                )
            }
        }
    }

    /// `box` is `nonce || ciphertext || tag`; returns libsodium's status (0 = authentic).
    private static func decrypt(
        into out: UnsafeMutableRawPointer,
        _ box: UnsafeRawBufferPointer,
        ad: [UInt8],
        key: SecureBytes
    ) -> Int32 {
        Sodium.ensureReady()
        guard key.count == keyBytes else { return -1 }
        let base = box.baseAddress!.assumingMemoryBound(to: UInt8.self)
        return key.withUnsafeBytes { k in
            ad.withUnsafeBufferPointer { a in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    out.assumingMemoryBound(to: UInt8.self),
                    nil,
                    nil,
                    base + nonceBytes,
                    UInt64(box.count - nonceBytes),
                    a.baseAddress,
                    UInt64(a.count),
                    base,
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self)
                )
            }
        }
    }
}
