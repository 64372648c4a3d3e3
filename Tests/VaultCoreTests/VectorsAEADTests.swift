import Foundation
import Testing

@testable import VaultCore

/// XChaCha20-Poly1305 through cvault's own wrapper, against draft-irtf-cfrg-xchacha-03 A.3.1.
@Suite struct VectorsAEADTests {
    struct Vector: Decodable {
        let plaintext_utf8: String
        let aad_hex: String
        let key_hex: String
        let nonce_hex: String
        let ciphertext_hex: String
        let tag_hex: String
    }

    struct Decoded {
        let plaintext: [UInt8]
        let ad: [UInt8]
        let key: SecureBytes
        let nonce: [UInt8]
        /// ciphertext || tag, as the deterministic `seal` returns it.
        let sealed: [UInt8]
    }

    static func vector() throws -> Decoded {
        let v = try TestVectors.load(Vector.self, from: "xchacha20poly1305.json")
        var key = try #require(Hex.decode(v.key_hex))
        let ad = try #require(Hex.decode(v.aad_hex))
        let nonce = try #require(Hex.decode(v.nonce_hex))
        let sealed = try #require(Hex.decode(v.ciphertext_hex)) + (try #require(Hex.decode(v.tag_hex)))
        return Decoded(
            plaintext: Array(v.plaintext_utf8.utf8),
            ad: ad,
            key: SecureBytes(consuming: &key),
            nonce: nonce,
            sealed: sealed
        )
    }

    @Test func sealGivesCiphertextAndTagExactly() throws {
        let v = try Self.vector()
        #expect(v.plaintext.count == 114)
        let sealed = XChaCha20Poly1305.seal(v.plaintext, ad: v.ad, nonce: v.nonce, key: v.key)
        #expect(sealed.count == v.plaintext.count + XChaCha20Poly1305.tagBytes)
        #expect(sealed == v.sealed)
    }

    @Test func openGivesThePlaintext() throws {
        let v = try Self.vector()
        #expect(try XChaCha20Poly1305.open(v.sealed, ad: v.ad, nonce: v.nonce, key: v.key) == v.plaintext)
        // The combined form the vault stores: nonce || ciphertext || tag.
        #expect(try XChaCha20Poly1305.open(v.nonce + v.sealed, ad: v.ad, key: v.key) == v.plaintext)
    }

    @Test func everyFlippedCiphertextOrTagByteIsRejected() throws {
        let v = try Self.vector()
        for i in v.sealed.indices {
            var altered = v.sealed
            altered[i] ^= 0x01
            #expect(throws: VaultError.integrityFailure, "byte \(i) of ciphertext||tag") {
                _ = try XChaCha20Poly1305.open(altered, ad: v.ad, nonce: v.nonce, key: v.key)
            }
        }
    }

    @Test func everyFlippedNonceByteIsRejected() throws {
        let v = try Self.vector()
        for i in v.nonce.indices {
            var nonce = v.nonce
            nonce[i] ^= 0x80
            #expect(throws: VaultError.integrityFailure, "nonce byte \(i)") {
                _ = try XChaCha20Poly1305.open(v.sealed, ad: v.ad, nonce: nonce, key: v.key)
            }
        }
    }

    @Test func everyFlippedAssociatedDataByteIsRejected() throws {
        let v = try Self.vector()
        for i in v.ad.indices {
            var ad = v.ad
            ad[i] ^= 0x01
            #expect(throws: VaultError.integrityFailure, "AD byte \(i)") {
                _ = try XChaCha20Poly1305.open(v.sealed, ad: ad, nonce: v.nonce, key: v.key)
            }
        }
        // Dropping or adding AD is a change too.
        #expect(throws: VaultError.integrityFailure) {
            _ = try XChaCha20Poly1305.open(v.sealed, ad: Array(v.ad.dropLast()), nonce: v.nonce, key: v.key)
        }
        #expect(throws: VaultError.integrityFailure) {
            _ = try XChaCha20Poly1305.open(v.sealed, ad: v.ad + [0], nonce: v.nonce, key: v.key)
        }
    }

    @Test func truncatedBoxesAreRejected() throws {
        let v = try Self.vector()
        #expect(throws: VaultError.integrityFailure) {
            _ = try XChaCha20Poly1305.open(Array(v.sealed.dropLast()), ad: v.ad, nonce: v.nonce, key: v.key)
        }
        #expect(throws: VaultError.integrityFailure) {
            _ = try XChaCha20Poly1305.open(
                Array(v.sealed.prefix(XChaCha20Poly1305.tagBytes - 1)),
                ad: v.ad,
                nonce: v.nonce,
                key: v.key
            )
        }
        #expect(throws: VaultError.integrityFailure) {
            _ = try XChaCha20Poly1305.open(
                Array(repeating: 0, count: XChaCha20Poly1305.overhead - 1),
                ad: v.ad,
                key: v.key
            )
        }
    }

    @Test func randomNonceSealRoundTrips() throws {
        let key = SecureBytes(randomCount: XChaCha20Poly1305.keyBytes)
        let plaintext = Array("a customer value".utf8)
        let ad = Array("row 7".utf8)
        let box = XChaCha20Poly1305.seal(plaintext, ad: ad, key: key)
        #expect(box.count == plaintext.count + XChaCha20Poly1305.overhead)
        #expect(try XChaCha20Poly1305.open(box, ad: ad, key: key) == plaintext)
        // The plaintext does not appear in the box.
        let plaintextInBox = box.containsByteRun(plaintext)
        #expect(!plaintextInBox)
        // A fresh nonce every time: sealing the same plaintext twice gives two different boxes.
        let again = XChaCha20Poly1305.seal(plaintext, ad: ad, key: key)
        #expect(Array(again.prefix(XChaCha20Poly1305.nonceBytes)) != Array(box.prefix(XChaCha20Poly1305.nonceBytes)))
        #expect(again != box)
        // The empty plaintext is allowed.
        let empty = XChaCha20Poly1305.seal([UInt8](), ad: ad, key: key)
        #expect(try XChaCha20Poly1305.open(empty, ad: ad, key: key) == [])
    }

    @Test func randomNonceSealRejectsWrongKeyAndWrongAD() throws {
        let key = SecureBytes(randomCount: XChaCha20Poly1305.keyBytes)
        let other = SecureBytes(randomCount: XChaCha20Poly1305.keyBytes)
        let plaintext = Array("4111111111111111".utf8)
        let box = XChaCha20Poly1305.seal(plaintext, ad: [1, 2, 3], key: key)
        #expect(throws: VaultError.integrityFailure) { _ = try XChaCha20Poly1305.open(box, ad: [1, 2, 3], key: other) }
        #expect(throws: VaultError.integrityFailure) { _ = try XChaCha20Poly1305.open(box, ad: [1, 2, 4], key: key) }
        #expect(throws: VaultError.integrityFailure) { _ = try XChaCha20Poly1305.open(box, ad: [], key: key) }
        // A key of the wrong size never opens anything.
        let short = SecureBytes(randomCount: 16)
        #expect(throws: VaultError.integrityFailure) { _ = try XChaCha20Poly1305.open(box, ad: [1, 2, 3], key: short) }
    }

    @Test func wrappedKeysOpenIntoGuardedMemoryAndRejectChanges() throws {
        let kek = SecureBytes(randomCount: 32)
        let dek = SecureBytes(randomCount: 32)
        let box = XChaCha20Poly1305.seal(dek, ad: Array("subject".utf8), key: kek)
        let opened = try XChaCha20Poly1305.openKey(box, ad: Array("subject".utf8), key: kek)
        #expect(opened.constantTimeEquals(dek))
        for i in box.indices {
            var altered = box
            altered[i] ^= 0x04
            #expect(throws: VaultError.integrityFailure, "byte \(i)") {
                _ = try XChaCha20Poly1305.openKey(altered, ad: Array("subject".utf8), key: kek)
            }
        }
        #expect(throws: VaultError.integrityFailure) {
            _ = try XChaCha20Poly1305.openKey(box, ad: Array("another subject".utf8), key: kek)
        }
        // A box with no secret in it is refused rather than giving an empty key.
        let empty = XChaCha20Poly1305.seal([UInt8](), ad: [], key: kek)
        #expect(throws: VaultError.integrityFailure) { _ = try XChaCha20Poly1305.openKey(empty, ad: [], key: kek) }
    }
}
