import CSodium

/// The system CSPRNG through libsodium (`getrandom(2)` on Linux). Nothing in cvault uses another source.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return out
    }

    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        Sodium.ensureReady()
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        randombytes_buf(base, buffer.count)
    }

    /// A uniform integer in `0..<upperBound` without modulo bias (`randombytes_uniform`).
    public static func uniform(_ upperBound: UInt32) -> UInt32 {
        Sodium.ensureReady()
        return randombytes_uniform(upperBound)
    }
}

/// Constant-time comparison of public-length byte strings that may be secret-derived (tokens' random
/// parts, MACs, hashes used as capabilities).
public enum ConstantTime {
    public static func equal(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        Sodium.ensureReady()
        let x = Array(a)
        let y = Array(b)
        guard x.count == y.count else { return false }
        if x.isEmpty { return true }
        return x.withUnsafeBytes { p in
            y.withUnsafeBytes { q in sodium_memcmp(p.baseAddress!, q.baseAddress!, x.count) == 0 }
        }
    }

    /// Overwrites `bytes` with zeros in a way the compiler cannot elide (`sodium_memzero`).
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { if let b = $0.baseAddress { sodium_memzero(b, $0.count) } }
    }
}
