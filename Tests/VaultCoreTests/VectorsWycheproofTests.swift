import Foundation
import Testing

@testable import VaultCore

/// Every Wycheproof test case for XChaCha20-Poly1305 and Ed25519 (`Tests/Fixtures/vectors/wycheproof`, copied
/// unchanged from C2SP/wycheproof; its README names the commit), run through cvault's own wrappers rather than
/// libsodium directly, so a wrapper that mishandles a length, an empty input or a bad tag fails here.
///
/// Wycheproof marks each case `valid` (must be accepted and, for the AEAD, give exactly the published bytes),
/// `invalid` (must be refused) or `acceptable` (either is allowed). Neither copied file holds an `acceptable`
/// case; the file checks below fail if a later copy brings one, so whoever updates the files decides what
/// cvault should do with it (and documents it here) instead of it passing unread.
@Suite struct VectorsWycheproofTests {
    // MARK: - The files' shape (only the fields the tests read)

    /// A Wycheproof file: its algorithm, its count of cases, and its groups.
    struct File: Decodable {
        let algorithm: String
        let numberOfTests: Int
        let testGroups: [Group]
    }

    /// A group of either file: the AEAD's sizes in bits, or the Ed25519 key the group's signatures are by.
    struct Group: Decodable {
        struct PublicKey: Decodable {
            let curve: String
            let pk: String
        }
        let keySize: Int?
        let tagSize: Int?
        let publicKey: PublicKey?
        let tests: [Case]
    }

    /// One case of either file: its id, flags and result, and its other string fields by name (hex for the
    /// inputs: `key`, `iv`, `aad`, `msg`, `ct`, `tag`, `sig`), so both files share one shape.
    struct Case: Decodable {
        struct Name: CodingKey {
            let stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        let tcId: Int
        let flags: [String]
        let result: String
        let strings: [String: String]

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Name.self)
            tcId = try c.decode(Int.self, forKey: Name(stringValue: "tcId"))
            flags = try c.decode([String].self, forKey: Name(stringValue: "flags"))
            result = try c.decode(String.self, forKey: Name(stringValue: "result"))
            var strings: [String: String] = [:]
            for key in c.allKeys {
                if let text = try? c.decode(String.self, forKey: key) { strings[key.stringValue] = text }
            }
            self.strings = strings
        }

        /// The bytes of hex field `name`; a missing or malformed field fails the test that asked.
        func bytes(_ name: String) throws -> [UInt8] {
            try #require(strings[name].flatMap(Hex.decode), "tcId \(tcId): field \(name)")
        }
    }

    static func aeadFile() throws -> File {
        try TestVectors.load(File.self, from: "wycheproof/xchacha20_poly1305_test.json")
    }

    static func eddsaFile() throws -> File {
        try TestVectors.load(File.self, from: "wycheproof/ed25519_test.json")
    }

    // MARK: - XChaCha20-Poly1305

    /// The file is the one the README names, and no case is silently skipped: every case is counted once.
    @Test func aeadFileIsCompleteAndForThisAlgorithm() throws {
        let file = try Self.aeadFile()
        #expect(file.algorithm == "XCHACHA20-POLY1305")
        #expect(file.testGroups.map(\.tests.count).reduce(0, +) == file.numberOfTests)
        #expect(file.numberOfTests >= 300)
        // cvault's keys and tags are the sizes every group uses; only the nonce size varies.
        #expect(file.testGroups.allSatisfy { $0.keySize == 256 && $0.tagSize == 128 })
        #expect(file.testGroups.allSatisfy { $0.tests.allSatisfy { ["valid", "invalid"].contains($0.result) } })
    }

    /// A valid case seals to exactly the published ciphertext and tag under the given nonce, and opens back to
    /// the message from both forms the wrapper takes (`nonce:` given apart, and the stored
    /// `nonce || ciphertext || tag`).
    @Test func aeadValidCasesSealAndOpenExactly() throws {
        var checked = 0
        for group in try Self.aeadFile().testGroups {
            for c in group.tests where c.result == "valid" {
                let v = try Decoded(c)
                try #require(
                    v.nonce.count == XChaCha20Poly1305.nonceBytes,
                    "tcId \(c.tcId): valid with a bad nonce size"
                )
                #expect(
                    XChaCha20Poly1305.seal(v.message, ad: v.ad, nonce: v.nonce, key: v.key) == v.sealed,
                    "tcId \(c.tcId) \(c.flags): seal"
                )
                #expect(
                    (try? XChaCha20Poly1305.open(v.sealed, ad: v.ad, nonce: v.nonce, key: v.key)) == v.message,
                    "tcId \(c.tcId) \(c.flags): open with the nonce apart"
                )
                #expect(
                    (try? XChaCha20Poly1305.open(v.nonce + v.sealed, ad: v.ad, key: v.key)) == v.message,
                    "tcId \(c.tcId) \(c.flags): open of nonce || ciphertext || tag"
                )
                checked += 1
            }
        }
        #expect(checked == 246)
    }

    /// An invalid case is refused with `VaultError.integrityFailure` and no plaintext. A modified tag fails
    /// authentication; a nonce of the wrong size (`InvalidNonceSize`) is a case the deterministic `seal` cannot
    /// express (its nonce is never input, so a wrong size there is a programmer's error and a precondition), so
    /// for those only opening is run, and it must refuse cleanly rather than trap or read past the nonce.
    @Test func aeadInvalidCasesAreRefused() throws {
        var refusedTags = 0
        var refusedNonces = 0
        for group in try Self.aeadFile().testGroups {
            for c in group.tests where c.result == "invalid" {
                let v = try Decoded(c)
                #expect(throws: VaultError.integrityFailure, "tcId \(c.tcId) \(c.flags): open with the nonce apart") {
                    _ = try XChaCha20Poly1305.open(v.sealed, ad: v.ad, nonce: v.nonce, key: v.key)
                }
                if v.nonce.count == XChaCha20Poly1305.nonceBytes {
                    #expect(throws: VaultError.integrityFailure, "tcId \(c.tcId) \(c.flags): open of the stored form") {
                        _ = try XChaCha20Poly1305.open(v.nonce + v.sealed, ad: v.ad, key: v.key)
                    }
                    refusedTags += 1
                } else {
                    #expect(c.flags.contains("InvalidNonceSize"), "tcId \(c.tcId): an unexpected short or long nonce")
                    refusedNonces += 1
                }
            }
        }
        #expect(refusedTags == 60)
        #expect(refusedNonces == 9)
    }

    /// One AEAD case in cvault's types.
    struct Decoded {
        let key: SecureBytes
        let nonce: [UInt8]
        let ad: [UInt8]
        let message: [UInt8]
        /// ciphertext || tag, as the deterministic `seal` returns it.
        let sealed: [UInt8]

        init(_ c: Case) throws {
            var key = try c.bytes("key")
            self.key = SecureBytes(consuming: &key)
            nonce = try c.bytes("iv")
            ad = try c.bytes("aad")
            message = try c.bytes("msg")
            sealed = try c.bytes("ct") + c.bytes("tag")
        }
    }

    // MARK: - Ed25519

    @Test func eddsaFileIsCompleteAndForEd25519() throws {
        let file = try Self.eddsaFile()
        #expect(file.algorithm == "EDDSA")
        #expect(file.testGroups.allSatisfy { $0.publicKey?.curve == "edwards25519" })
        #expect(file.testGroups.map(\.tests.count).reduce(0, +) == file.numberOfTests)
        #expect(file.numberOfTests >= 150)
        #expect(file.testGroups.allSatisfy { $0.tests.allSatisfy { ["valid", "invalid"].contains($0.result) } })
    }

    /// `Ed25519.verify` (what checks the audit log's seals) accepts exactly the valid signatures, among them
    /// those that overflowed other libraries' arithmetic (`TinkOverflow`), and refuses every invalid one:
    /// malleable S (S ≥ L), bad encodings of R or S, small-order points, truncated or padded signatures. A
    /// signature of the wrong length is a case
    /// the wrapper takes as a plain byte array, so it is run like any other and must return false, not trap.
    @Test func eddsaEveryCase() throws {
        var valid = 0
        var invalid = 0
        for group in try Self.eddsaFile().testGroups {
            let key = try #require(group.publicKey.flatMap { Hex.decode($0.pk) })
            for c in group.tests {
                let verified = Ed25519.verify(
                    signature: try c.bytes("sig"),
                    message: try c.bytes("msg"),
                    publicKey: key
                )
                switch c.result {
                case "valid":
                    #expect(verified, "tcId \(c.tcId) \(c.flags): a valid signature was refused")
                    valid += 1
                case "invalid":
                    #expect(!verified, "tcId \(c.tcId) \(c.flags): an invalid signature was accepted")
                    invalid += 1
                default:
                    Issue.record("tcId \(c.tcId) \(c.flags) is \(c.result); verified: \(verified). Review it.")
                }
            }
        }
        #expect(valid == 88)
        #expect(invalid == 63)
    }
}
