import Testing

@testable import VaultCore

/// GF(2^8) arithmetic under Shamir: the constant-time multiply and inverse checked against a reference
/// written here the textbook way (log and exp tables over the generator 3), on every input.
@Suite struct ShamirFieldTests {
    /// Reference tables, built with the plain "xtime" definition of multiplying by x modulo the AES
    /// polynomial x^8 + x^4 + x^3 + x + 1 (0x11b). 3 = x + 1 generates the multiplicative group.
    static let tables: (exp: [UInt8], log: [Int]) = {
        var exp = [UInt8](repeating: 0, count: 255)
        var log = [Int](repeating: -1, count: 256)
        var value: UInt8 = 1
        for power in 0..<255 {
            exp[power] = value
            log[Int(value)] = power
            let xtime: UInt8 = (value << 1) ^ (value & 0x80 != 0 ? 0x1b : 0)
            value = xtime ^ value  // value * 3 = value * x + value
        }
        return (exp, log)
    }()

    static func referenceMultiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        guard a != 0, b != 0 else { return 0 }
        return tables.exp[(tables.log[Int(a)] + tables.log[Int(b)]) % 255]
    }

    @Test func theReferenceTablesCoverTheWholeGroup() {
        // 3 generates all 255 non-zero elements exactly once; otherwise the reference itself is wrong.
        #expect(Set(Self.tables.exp).count == 255)
        #expect(!Self.tables.exp.contains(0))
        #expect(Self.tables.log[0] == -1)
        #expect(Self.tables.log[1...].allSatisfy { $0 >= 0 })
    }

    @Test func multiplyMatchesTheLogTableReferenceOnAllPairs() {
        var mismatches = 0
        for a in 0...255 {
            for b in 0...255 where Shamir.multiply(UInt8(a), UInt8(b)) != Self.referenceMultiply(UInt8(a), UInt8(b)) {
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
        // Known values from FIPS-197 §4.2: {57}·{83} = {c1}, {57}·{13} = {fe}.
        #expect(Shamir.multiply(0x57, 0x83) == 0xc1)
        #expect(Shamir.multiply(0x57, 0x13) == 0xfe)
    }

    @Test func multiplyIsCommutativeWithOneAndZero() {
        for a in 0...255 {
            let x = UInt8(a)
            #expect(Shamir.multiply(x, 1) == x)
            #expect(Shamir.multiply(1, x) == x)
            #expect(Shamir.multiply(x, 0) == 0)
            #expect(Shamir.multiply(0, x) == 0)
            for b in stride(from: 0, through: 255, by: 7) {
                #expect(Shamir.multiply(x, UInt8(b)) == Shamir.multiply(UInt8(b), x))
            }
        }
    }

    @Test func multiplyIsAssociativeAndDistributesOverAddition() {
        // Addition in GF(2^8) is XOR. A spread of triples (all 2^24 would only repeat what the reference
        // comparison above already proves).
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<4_000 {
            let a = UInt8.random(in: 0...255, using: &generator)
            let b = UInt8.random(in: 0...255, using: &generator)
            let c = UInt8.random(in: 0...255, using: &generator)
            #expect(Shamir.multiply(Shamir.multiply(a, b), c) == Shamir.multiply(a, Shamir.multiply(b, c)))
            #expect(Shamir.multiply(a, b ^ c) == Shamir.multiply(a, b) ^ Shamir.multiply(a, c))
        }
    }

    @Test func inverseTimesAIsOneForEveryNonZeroA() {
        var failures: [Int] = []
        for a in 1...255 where Shamir.multiply(Shamir.inverse(UInt8(a)), UInt8(a)) != 1 { failures.append(a) }
        #expect(failures.isEmpty, "inverse(a)·a ≠ 1 for a in \(failures)")
        #expect(Shamir.inverse(0) == 0)
        #expect(Shamir.inverse(1) == 1)
        // The inverse is unique and an involution, and agrees with the reference's exp(255 - log a).
        var seen = Set<UInt8>()
        for a in 1...255 {
            let inverse = Shamir.inverse(UInt8(a))
            seen.insert(inverse)
            #expect(Shamir.inverse(inverse) == UInt8(a))
            #expect(inverse == Self.tables.exp[(255 - Self.tables.log[a]) % 255])
        }
        #expect(seen.count == 255)
    }
}
