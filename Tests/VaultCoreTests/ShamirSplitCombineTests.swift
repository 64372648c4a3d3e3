import Testing

@testable import VaultCore

/// Splitting a secret into shares and combining them: any threshold of them recover it, fewer do not, and
/// fewer are consistent with every possible secret (they reveal nothing).
@Suite struct ShamirSplitCombineTests {
    static func bytes(_ secure: SecureBytes) -> [UInt8] { secure.withUnsafeBytes { Array($0) } }

    /// Every k-element subset of 0..<n, in lexicographic order.
    static func combinations(_ n: Int, _ k: Int) -> [[Int]] {
        guard k > 0 else { return [[]] }
        guard n >= k else { return [] }
        return combinations(n - 1, k - 1).map { $0 + [n - 1] } + combinations(n - 1, k)
    }

    @Test func theCombinationHelperIsRight() {
        let all = Self.combinations(5, 3)
        #expect(all.count == 10)
        #expect(Set(all.map { Set($0) }).count == 10)
        #expect(all.allSatisfy { $0.count == 3 && Set($0).count == 3 && $0.allSatisfy { (0..<5).contains($0) } })
    }

    @Test func everyThreeOfFiveCombinationRecoversTheSecret() {
        let secret = SecureBytes(randomCount: 32)
        let shares = Shamir.split(secret, threshold: 3, count: 5)
        #expect(shares.map(\.x) == [1, 2, 3, 4, 5])
        let combinations = Self.combinations(5, 3)
        #expect(combinations.count == 10)
        for chosen in combinations {
            let recovered = Shamir.combine(chosen.map { shares[$0] })
            #expect(recovered.constantTimeEquals(secret), "shares \(chosen.map { $0 + 1 }) do not recover the secret")
            // Order does not matter.
            #expect(Shamir.combine(chosen.reversed().map { shares[$0] }).constantTimeEquals(secret))
        }
        // More than the threshold works too (four or all five points lie on the same degree-2 polynomial).
        #expect(Shamir.combine(Array(shares[0..<4])).constantTimeEquals(secret))
        #expect(Shamir.combine(shares).constantTimeEquals(secret))
    }

    @Test func twoSharesOfAThreeOfFiveSetDoNotRecoverTheSecret() {
        let secret = SecureBytes(randomCount: 32)
        let shares = Shamir.split(secret, threshold: 3, count: 5)
        for pair in Self.combinations(5, 2) {
            // A line through two points of a parabola meets x = 0 at the secret only by chance (2^-256 here).
            #expect(
                !Shamir.combine(pair.map { shares[$0] }).constantTimeEquals(secret),
                "shares \(pair.map { $0 + 1 })"
            )
        }
    }

    @Test func sharesLookNothingLikeTheSecretOrEachOther() {
        let secret = SecureBytes(randomCount: 32)
        let shares = Shamir.split(secret, threshold: 3, count: 5)
        for share in shares { #expect(!share.y.constantTimeEquals(secret)) }
        for i in shares.indices {
            for j in shares.indices where i < j { #expect(!shares[i].y.constantTimeEquals(shares[j].y)) }
        }
        // Two splits of the same secret draw fresh coefficients.
        let again = Shamir.split(secret, threshold: 3, count: 5)
        #expect(!again[0].y.constantTimeEquals(shares[0].y))
    }

    @Test func otherThresholdsWork() {
        let secret = SecureBytes(randomCount: 32)
        for (threshold, count) in [(2, 2), (2, 3), (4, 7), (16, 16)] {
            let shares = Shamir.split(secret, threshold: threshold, count: count)
            #expect(
                Shamir.combine(Array(shares.suffix(threshold))).constantTimeEquals(secret),
                "\(threshold) of \(count)"
            )
            #expect(!Shamir.combine(Array(shares.prefix(threshold - 1))).constantTimeEquals(secret) || threshold == 1)
        }
    }

    /// The secrecy argument, checked exhaustively for one byte position: with the threshold at 3 the secret
    /// byte s is f(0) of f(x) = s + a1·x + a2·x². Given two shares (x1, y1), (x2, y2), for every candidate
    /// s in 0...255 exactly one pair (a1, a2) passes through both points. So two shares are consistent with
    /// every secret byte equally, and tell nothing about it.
    @Test func twoSharesAreConsistentWithEverySecretByteExactlyOnce() {
        let secret = SecureBytes(randomCount: 32)
        let shares = Shamir.split(secret, threshold: 3, count: 5)
        let position = 7
        let (x1, y1) = (Int(shares[1].x), Self.bytes(shares[1].y)[position])
        let (x2, y2) = (Int(shares[3].x), Self.bytes(shares[3].y)[position])
        let (x3, y3) = (Int(shares[4].x), Self.bytes(shares[4].y)[position])
        // products[a << 8 | b] = a·b, so the 2^24 evaluations below are look-ups.
        let products = (0..<65_536).map { Shamir.multiply(UInt8($0 >> 8), UInt8($0 & 0xff)) }
        var polynomialsPerSecret = [Int](repeating: 0, count: 256)
        var realPolynomial: (a1: Int, a2: Int)?
        let real = Int(Self.bytes(secret)[position])
        products.withUnsafeBufferPointer { p in
            let x1Squared = Int(p[x1 << 8 | x1])
            let x2Squared = Int(p[x2 << 8 | x2])
            for s in 0...255 {
                // Every (a1, a2), all 2^16 pairs, for every candidate secret byte.
                for a1 in 0...255 {
                    let partial1 = UInt8(s) ^ p[a1 << 8 | x1]
                    let partial2 = UInt8(s) ^ p[a1 << 8 | x2]
                    for a2 in 0...255
                    where partial1 ^ p[a2 << 8 | x1Squared] == y1 && partial2 ^ p[a2 << 8 | x2Squared] == y2 {
                        polynomialsPerSecret[s] += 1
                        if s == real { realPolynomial = (a1, a2) }
                    }
                }
            }
        }
        let notExactlyOne = polynomialsPerSecret.indices.filter { polynomialsPerSecret[$0] != 1 }
        #expect(
            notExactlyOne.isEmpty,
            "\(notExactlyOne.count) candidate secret bytes are not consistent with exactly one polynomial"
        )
        // The polynomial found for the real secret byte is the one the split used: it meets the third share.
        #expect(realPolynomial != nil)
        if let (a1, a2) = realPolynomial {
            let at3 =
                UInt8(real) ^ Shamir.multiply(UInt8(a1), UInt8(x3))
                ^ Shamir.multiply(UInt8(a2), Shamir.multiply(UInt8(x3), UInt8(x3)))
            #expect(at3 == y3)
        }
    }
}
