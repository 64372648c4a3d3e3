/// The secret half of the keyring, as it is sealed under the root key: a sequence of entries, each
/// `type (1 byte) || version (4 bytes, big-endian) || key (32 bytes)`. Binary, so it can be parsed straight
/// out of guarded memory without passing key bytes through strings or JSON.
struct KeyMaterial: Sendable {
    enum EntryType: UInt8 {
        case kek = 1
        case tokenKey = 2
        /// Keys the hash that turns a token into its row's look-up key.
        case lookupKey = 3
        /// The Ed25519 seed that signs audit seals.
        case auditSeed = 4
    }

    static let entrySize = 1 + 4 + 32

    var keks: [Int: SecureBytes]
    var tokenKeys: [Int: SecureBytes]
    var lookupKey: SecureBytes
    var auditSeed: SecureBytes

    /// Seals the material under `root`: one buffer in guarded memory, sealed, then wiped.
    func sealed(root: SecureBytes, ad: [UInt8]) -> [UInt8] {
        var entries: [(EntryType, Int, SecureBytes)] = []
        for (v, k) in keks.sorted(by: { $0.key < $1.key }) { entries.append((.kek, v, k)) }
        for (v, k) in tokenKeys.sorted(by: { $0.key < $1.key }) { entries.append((.tokenKey, v, k)) }
        entries.append((.lookupKey, 1, lookupKey))
        entries.append((.auditSeed, 1, auditSeed))
        let buffer = SecureBytes.filled(count: entries.count * Self.entrySize) { out in
            for (i, (type, version, key)) in entries.enumerated() {
                let base = i * Self.entrySize
                out[base] = type.rawValue
                withUnsafeBytes(of: UInt32(version).bigEndian) { v in
                    for j in 0..<4 { out[base + 1 + j] = v[j] }
                }
                key.withUnsafeBytes { k in
                    UnsafeMutableRawBufferPointer(rebasing: out[(base + 5)..<(base + 5 + 32)]).copyMemory(from: k)
                }
            }
        }
        return XChaCha20Poly1305.seal(buffer, ad: ad, key: root)
    }

    /// Opens and parses sealed material. A wrong root key or edited metadata gives `.integrity`.
    static func open(_ sealed: [UInt8], root: SecureBytes, ad: [UInt8]) throws(VaultError) -> KeyMaterial {
        let buffer = try XChaCha20Poly1305.openKey(sealed, ad: ad, key: root)
        guard buffer.count % entrySize == 0 else { throw malformed }
        var keks: [Int: SecureBytes] = [:]
        var tokenKeys: [Int: SecureBytes] = [:]
        var lookup: SecureBytes?
        var audit: SecureBytes?
        var bad = false
        buffer.withUnsafeBytes { raw in
            for base in stride(from: 0, to: raw.count, by: entrySize) {
                let version =
                    Int(raw[base + 1]) << 24 | Int(raw[base + 2]) << 16 | Int(raw[base + 3]) << 8 | Int(raw[base + 4])
                let key = SecureBytes(copying: UnsafeRawBufferPointer(rebasing: raw[(base + 5)..<(base + 5 + 32)]))
                switch EntryType(rawValue: raw[base]) {
                case .kek: keks[version] = key
                case .tokenKey: tokenKeys[version] = key
                case .lookupKey: lookup = key
                case .auditSeed: audit = key
                case nil: bad = true
                }
            }
        }
        guard !bad, let lookup, let audit else { throw malformed }
        return KeyMaterial(keks: keks, tokenKeys: tokenKeys, lookupKey: lookup, auditSeed: audit)
    }

    private static let malformed = VaultError(
        .keyring,
        "the keyring's key material is malformed",
        hint: "restore the keyring from its backup"
    )
}
