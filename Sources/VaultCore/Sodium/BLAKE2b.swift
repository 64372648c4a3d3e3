import CSodium

/// BLAKE2b (`crypto_generichash`), keyed or not.
///
/// Why BLAKE2b: it is libsodium's general-purpose hash, a PRF when keyed (so it serves as the MAC behind
/// deterministic tokens and token look-up keys without an HMAC construction), and fast in software.
public enum BLAKE2b {
    public static let minOutput = Int(crypto_generichash_BYTES_MIN)
    public static let maxOutput = Int(crypto_generichash_BYTES_MAX)

    public static func hash(_ data: UnsafeRawBufferPointer, key: SecureBytes? = nil, outputLength: Int = 32) -> [UInt8]
    {
        precondition((minOutput...maxOutput).contains(outputLength), "BLAKE2b output must be 16...64 bytes")
        Sodium.ensureReady()
        return [UInt8](unsafeUninitializedCapacity: outputLength) { out, initialized in
            let input = data.baseAddress?.assumingMemoryBound(to: UInt8.self)
            if let key {
                key.withUnsafeBytes { k in
                    _ = crypto_generichash(
                        out.baseAddress!,
                        outputLength,
                        input,
                        UInt64(data.count),
                        k.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        k.count
                    )
                }
            } else {
                _ = crypto_generichash(out.baseAddress!, outputLength, input, UInt64(data.count), nil, 0)
            }
            initialized = outputLength
        }
    }

    public static func hash(_ data: [UInt8], key: SecureBytes? = nil, outputLength: Int = 32) -> [UInt8] {
        data.withUnsafeBytes { hash($0, key: key, outputLength: outputLength) }
    }

    /// Derives a 32-byte key in guarded memory: BLAKE2b keyed by `key` over a domain-separation `label`.
    public static func deriveKey(from key: SecureBytes, label: String) -> SecureBytes {
        Sodium.ensureReady()
        let input = Array(label.utf8)
        return SecureBytes.filled(count: 32) { out in
            key.withUnsafeBytes { k in
                input.withUnsafeBufferPointer { i in
                    _ = crypto_generichash(
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        32,
                        i.baseAddress,
                        UInt64(i.count),
                        k.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        k.count
                    )
                }
            }
        }
    }
}
