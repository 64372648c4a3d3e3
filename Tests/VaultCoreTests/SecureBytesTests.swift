import Foundation
import Testing

@testable import VaultCore

/// Key bytes never show in text: descriptions, interpolation, `dump` of a value holding them.
@Suite struct SecureBytesTests {
    /// A recognisable key, so any rendering of its bytes (hex either case, decimal list) can be searched for.
    static let knownBytes: [UInt8] = [0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xba, 0xbe] + Array(0x10...0x27)

    static func knownKey() -> SecureBytes {
        var copy = knownBytes
        return SecureBytes(consuming: &copy)
    }

    /// Every way the bytes could leak into a string.
    static func renderings(of bytes: [UInt8]) -> [String] {
        let hex = Hex.encode(bytes)
        return [
            hex, hex.uppercased(), String(hex.prefix(8)), String(hex.prefix(8)).uppercased(),
            bytes.map(String.init).joined(separator: ", "),  // [222, 173, ...]
            bytes.prefix(4).map(String.init).joined(separator: ", "),
            bytes.prefix(4).map { "0x" + String($0, radix: 16) }.joined(separator: ", "),
            Data(bytes).base64EncodedString(),
        ]
    }

    static func expectNoBytes(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        // Counted, not compared, so a failure never prints the key or the text holding it.
        let leaked = renderings(of: knownBytes).indices.filter { text.contains(renderings(of: knownBytes)[$0]) }
        #expect(leaked.isEmpty, "renderings leaked (by index)", sourceLocation: sourceLocation)
    }

    @Test func descriptionsSayRedacted() {
        let key = Self.knownKey()
        #expect(key.description.contains("redacted"))
        #expect(key.debugDescription.contains("redacted"))
        #expect(key.description.contains("32 bytes"))
        Self.expectNoBytes(key.description)
        Self.expectNoBytes(key.debugDescription)
    }

    @Test func describingInterpolationAndReflectingRevealNothing() {
        let key = Self.knownKey()
        let texts = [
            String(describing: key), "\(key)", String(reflecting: key), "\([key, key])",
            String(describing: Optional(key)), "\(["k": key])",
        ]
        for text in texts {
            #expect(text.contains("redacted"))
            Self.expectNoBytes(text)
        }
    }

    struct Holder {
        let name = "kek"
        let version = 3
        let key: SecureBytes
    }

    @Test func dumpOfAStructHoldingOneRevealsNothing() {
        let holder = Holder(key: Self.knownKey())
        var dumped = ""
        dump(holder, to: &dumped)
        #expect(dumped.contains("kek"), "dump really ran over the struct")
        Self.expectNoBytes(dumped)
        let described = "\(holder) \(String(reflecting: holder))"
        #expect(described.contains("redacted"))
        Self.expectNoBytes(described)
    }

    @Test func dumpOfKeyMaterialAndKeyringTypesRevealsNothing() {
        let signer = Ed25519.SigningKey(seed: Self.knownKey())
        var dumped = ""
        dump(signer, to: &dumped)
        Self.expectNoBytes(dumped)
        Self.expectNoBytes("\(signer) \(String(reflecting: signer))")
    }

    @Test func consumingWipesTheSourceAndKeepsTheBytes() {
        var source = Self.knownBytes
        let key = SecureBytes(consuming: &source)
        #expect(source.count == Self.knownBytes.count)
        #expect(source.allSatisfy { $0 == 0 })
        #expect(key.withUnsafeBytes { Array($0) } == Self.knownBytes)
        let copied = Self.knownBytes.withUnsafeBytes { SecureBytes(copying: $0) }
        #expect(copied.withUnsafeBytes { Array($0) } == Self.knownBytes)
    }

    @Test func constantTimeEquals() {
        let a = Self.knownKey()
        let b = Self.knownKey()
        #expect(a.constantTimeEquals(b))
        #expect(a.constantTimeEquals(a))
        for i in Self.knownBytes.indices {
            var changed = Self.knownBytes
            changed[i] ^= 0x01
            #expect(!a.constantTimeEquals(SecureBytes(consuming: &changed)), "byte \(i)")
        }
        var shorter = Array(Self.knownBytes.prefix(31))
        #expect(!a.constantTimeEquals(SecureBytes(consuming: &shorter)))
        #expect(!SecureBytes(randomCount: 32).constantTimeEquals(SecureBytes(randomCount: 32)))
    }

    @Test func randomAndZeroedBuffers() {
        let zero = SecureBytes(zeroedCount: 48)
        #expect(zero.count == 48)
        #expect(zero.withUnsafeBytes { $0.allSatisfy { $0 == 0 } })
        // 32 random bytes are all zero with probability 2^-256.
        let random = SecureBytes(randomCount: 32)
        #expect(random.withUnsafeBytes { !$0.allSatisfy { $0 == 0 } })
    }

    @Test func pooledBuffersComeBackZeroed() {
        // 32-byte buffers are recycled: fill some, release them, and the next ones must start zeroed.
        for _ in 0..<8 { _ = Self.knownKey() }
        for _ in 0..<8 {
            let fresh = SecureBytes(zeroedCount: 32)
            #expect(fresh.withUnsafeBytes { $0.allSatisfy { $0 == 0 } })
        }
    }

    @Test func constantTimeHelpers() {
        #expect(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equal([UInt8](), [UInt8]()))
        var secret: [UInt8] = [9, 9, 9]
        ConstantTime.wipe(&secret)
        #expect(secret == [0, 0, 0])
    }
}
