/// Shamir secret sharing over GF(2^8), byte by byte: a secret split into `shares` points of random
/// polynomials of degree `threshold - 1`; any `threshold` points give the secret back by Lagrange
/// interpolation at 0, and fewer say nothing about it (for every candidate secret there is exactly one
/// polynomial through the known points, all equally likely).
///
/// libsodium has no secret sharing, so this is the one primitive cvault implements itself. It is small and
/// written to run in constant time: multiplication is a fixed eight-step shift-and-add with masks (no log
/// tables, whose look-ups would leak through the cache), and inversion is exponentiation to 254.
public enum Shamir {
    /// GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1.
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var a = a
        var b = b
        var product: UInt8 = 0
        for _ in 0..<8 {
            product ^= a & (0 &- (b & 1))  // add a when b's low bit is set, without a branch
            let carry = 0 &- (a >> 7)  // 0xff when a's top bit is set
            a = (a << 1) ^ (0x1b & carry)
            b >>= 1
        }
        return product
    }

    /// a^254 = a^-1 for a ≠ 0 (and 0 for 0), by a fixed square-and-multiply chain.
    static func inverse(_ a: UInt8) -> UInt8 {
        var result: UInt8 = 1
        var base = a
        var exponent = 254
        for _ in 0..<8 {
            let bit = UInt8(exponent & 1)
            let multiplied = multiply(result, base)
            result = (multiplied & (0 &- bit)) | (result & ~(0 &- bit))
            base = multiply(base, base)
            exponent >>= 1
        }
        return result
    }

    /// Splits `secret` into `count` shares with x = 1...count; any `threshold` of them recover it.
    static func split(_ secret: SecureBytes, threshold: Int, count: Int) -> [(x: UInt8, y: SecureBytes)] {
        precondition(
            (2...255).contains(threshold) && threshold <= count && count <= 255,
            "bad threshold or share count"
        )
        let length = secret.count
        // Random coefficients a1...a(k-1) for every byte, in guarded memory.
        let coefficients = SecureBytes(randomCount: length * (threshold - 1))
        return (1...count).map { index in
            let x = UInt8(index)
            let y = SecureBytes.filled(count: length) { out in
                secret.withUnsafeBytes { s in
                    coefficients.withUnsafeBytes { c in
                        for byte in 0..<length {
                            // Horner: ((a(k-1) x + a(k-2)) x + ... + a1) x + secret
                            var value: UInt8 = 0
                            for degree in stride(from: threshold - 1, through: 1, by: -1) {
                                value = multiply(value, x) ^ c[byte * (threshold - 1) + degree - 1]
                            }
                            out[byte] = multiply(value, x) ^ s[byte]
                        }
                    }
                }
            }
            return (x, y)
        }
    }

    /// Recovers the secret from distinct shares (at least the threshold; the caller checks the count).
    static func combine(_ shares: [(x: UInt8, y: SecureBytes)]) -> SecureBytes {
        let length = shares[0].y.count
        return SecureBytes.filled(count: length) { out in
            for (i, share) in shares.enumerated() {
                // Lagrange basis at 0: prod over j != i of x_j / (x_j - x_i); subtraction is XOR here.
                var basis: UInt8 = 1
                for (j, other) in shares.enumerated() where j != i {
                    basis = multiply(basis, multiply(other.x, inverse(other.x ^ share.x)))
                }
                share.y.withUnsafeBytes { y in
                    for byte in 0..<length { out[byte] ^= multiply(y[byte], basis) }
                }
            }
        }
    }
}
