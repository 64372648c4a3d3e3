import CSodium

/// Argon2id (`crypto_pwhash` with `ALG_ARGON2ID13`): turns the operator's passphrase into the key that
/// seals the root key.
///
/// Why Argon2id: it is memory-hard, so guessing passphrases on GPUs or ASICs costs memory as well as time,
/// and the "id" variant resists both side-channel and trade-off attacks. cvault never goes below libsodium's
/// MODERATE limits (3 passes, 256 MiB); the limits used are stored in the keyring so they can be raised.
public enum Argon2id {
    public static let saltBytes = Int(crypto_pwhash_SALTBYTES)
    public static let moderateOps = UInt64(crypto_pwhash_OPSLIMIT_MODERATE)
    public static let moderateMem = UInt64(crypto_pwhash_MEMLIMIT_MODERATE)
    public static let algorithmName = "argon2id13"

    /// Derives a 32-byte key in guarded memory. Throws when the limits are out of range or the system cannot
    /// provide the memory.
    public static func deriveKey(
        passphrase: SecureBytes,
        salt: [UInt8],
        opsLimit: UInt64,
        memLimit: UInt64
    ) throws(VaultError) -> SecureBytes {
        Sodium.ensureReady()
        precondition(salt.count == saltBytes, "Argon2id salt must be 16 bytes")
        // The limits come from the keyring file: out of libsodium's range (or, for memory, of Int) they are
        // an edited or corrupt file, to be refused rather than trap in the conversion below.
        guard (UInt64(crypto_pwhash_opslimit_min())...UInt64(crypto_pwhash_opslimit_max())).contains(opsLimit),
            (UInt64(crypto_pwhash_memlimit_min())...UInt64(crypto_pwhash_memlimit_max())).contains(memLimit),
            let memory = Int(exactly: memLimit)
        else {
            throw VaultError(
                .keyring,
                "Argon2id limits out of range (opslimit \(opsLimit), memlimit \(memLimit))",
                hint: "the keyring was edited or is corrupt; restore it from its backup"
            )
        }
        var rc: Int32 = 0
        let key = SecureBytes.filled(count: 32) { out in
            rc = passphrase.withUnsafeBytes { p in
                crypto_pwhash(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    32,
                    p.baseAddress!.assumingMemoryBound(to: CChar.self),
                    UInt64(p.count),
                    salt,
                    opsLimit,
                    memory,
                    crypto_pwhash_ALG_ARGON2ID13
                )
            }
        }
        if rc != 0 {
            throw VaultError(
                .keyring,
                "Argon2id could not run with \(memLimit >> 20) MiB",
                hint: "free memory or run on a machine with more of it"
            )
        }
        return key
    }
}
