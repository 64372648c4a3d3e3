import Foundation
import Testing

@testable import VaultCore

/// BLAKE2b-512 (RFC 7693 appendix A) and Ed25519 (RFC 8032 7.1 TEST 1) through cvault's own wrappers.
@Suite struct VectorsHashAndSignatureTests {
    struct BLAKE2bVector: Decodable {
        let input_utf8: String
        let output_bytes: Int
        let key_hex: String
        let digest_hex: String
    }

    struct Ed25519Vector: Decodable {
        let seed_hex: String
        let public_key_hex: String
        let message_hex: String
        let signature_hex: String
    }

    @Test func blake2b512OfABC() throws {
        let v = try TestVectors.load(BLAKE2bVector.self, from: "blake2b.json")
        #expect(v.key_hex.isEmpty && v.output_bytes == 64)
        let digest = BLAKE2b.hash(Array(v.input_utf8.utf8), outputLength: v.output_bytes)
        #expect(Hex.encode(digest) == v.digest_hex)
        // The raw-buffer form gives the same.
        let raw = Array(v.input_utf8.utf8).withUnsafeBytes { BLAKE2b.hash($0, outputLength: 64) }
        #expect(raw == digest)
        // One changed input byte changes the digest.
        #expect(Hex.encode(BLAKE2b.hash(Array("abd".utf8), outputLength: 64)) != v.digest_hex)
    }

    @Test func keyedBLAKE2bDependsOnTheKey() {
        let a = SecureBytes(randomCount: 32)
        let b = SecureBytes(randomCount: 32)
        let data = Array("token".utf8)
        #expect(BLAKE2b.hash(data, key: a) == BLAKE2b.hash(data, key: a))
        #expect(BLAKE2b.hash(data, key: a) != BLAKE2b.hash(data, key: b))
        #expect(BLAKE2b.hash(data, key: a) != BLAKE2b.hash(data))
        // Derived keys are separated by label.
        #expect(!BLAKE2b.deriveKey(from: a, label: "x").constantTimeEquals(BLAKE2b.deriveKey(from: a, label: "y")))
        #expect(BLAKE2b.deriveKey(from: a, label: "x").constantTimeEquals(BLAKE2b.deriveKey(from: a, label: "x")))
    }

    static func ed25519() throws -> (key: Ed25519.SigningKey, publicKey: [UInt8], message: [UInt8], signature: [UInt8])
    {
        let v = try TestVectors.load(Ed25519Vector.self, from: "ed25519.json")
        var seed = try #require(Hex.decode(v.seed_hex))
        let key = Ed25519.SigningKey(seed: SecureBytes(consuming: &seed))
        #expect(seed.allSatisfy { $0 == 0 }, "the seed's heap copy is wiped")
        return (
            key, try #require(Hex.decode(v.public_key_hex)), try #require(Hex.decode(v.message_hex)),
            try #require(Hex.decode(v.signature_hex))
        )
    }

    @Test func ed25519SeedGivesThePublicKey() throws {
        let v = try Self.ed25519()
        #expect(v.key.publicKey == v.publicKey)
    }

    @Test func ed25519SignsTheEmptyMessageAsTheRFC() throws {
        let v = try Self.ed25519()
        #expect(v.message.isEmpty)
        #expect(v.key.sign(v.message) == v.signature)
        #expect(Ed25519.verify(signature: v.signature, message: v.message, publicKey: v.publicKey))
    }

    @Test func ed25519RejectsAnyOneBitChange() throws {
        let v = try Self.ed25519()
        // Message: the empty message with one bit added becomes a one-byte message.
        #expect(!Ed25519.verify(signature: v.signature, message: [0x01], publicKey: v.publicKey))
        #expect(!Ed25519.verify(signature: v.signature, message: [0x00], publicKey: v.publicKey))
        for i in v.signature.indices {
            var signature = v.signature
            signature[i] ^= 0x01
            #expect(
                !Ed25519.verify(signature: signature, message: v.message, publicKey: v.publicKey),
                "signature byte \(i)"
            )
        }
        for i in v.publicKey.indices {
            var publicKey = v.publicKey
            publicKey[i] ^= 0x01
            #expect(
                !Ed25519.verify(signature: v.signature, message: v.message, publicKey: publicKey),
                "public key byte \(i)"
            )
        }
        // Wrong sizes are refused, not read past.
        #expect(!Ed25519.verify(signature: Array(v.signature.dropLast()), message: v.message, publicKey: v.publicKey))
        #expect(!Ed25519.verify(signature: v.signature, message: v.message, publicKey: Array(v.publicKey.dropLast())))
    }

    @Test func ed25519MessageBitFlipsOnANonEmptyMessage() throws {
        let v = try Self.ed25519()
        let message = AuditChain.sealMessage(seq: 42, hash: [UInt8](repeating: 7, count: 32))
        let signature = v.key.sign(message)
        #expect(Ed25519.verify(signature: signature, message: message, publicKey: v.publicKey))
        for i in message.indices {
            var altered = message
            altered[i] ^= 0x10
            #expect(
                !Ed25519.verify(signature: signature, message: altered, publicKey: v.publicKey),
                "message byte \(i)"
            )
        }
    }

    @Test func signingKeyDescriptionIsRedacted() throws {
        let v = try Self.ed25519()
        let text = "\(v.key) \(String(describing: v.key)) \(String(reflecting: v.key))"
        #expect(text.contains("redacted"))
        let seedHex = try TestVectors.load(Ed25519Vector.self, from: "ed25519.json").seed_hex
        let seedShown = text.contains(seedHex) || text.contains(seedHex.prefix(16))
        #expect(!seedShown)
    }
}
