import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// Editing any public field of a keyring file makes it fail to open: it never opens with altered metadata.
@Suite struct KeyringTamperTests {
    static let passphrase = "tamper-evident passphrase"

    /// One edit of the keyring's JSON, as an attacker with write access to the file would make it.
    struct Edit: CustomTestStringConvertible, Sendable {
        let name: String
        let apply: @Sendable (inout [String: Any]) -> Void
        var testDescription: String { name }
    }

    static func editKEK(
        _ key: String,
        _ family: String = "keks",
        _ value: @escaping @Sendable () -> Any
    ) -> @Sendable (inout [String: Any]) -> Void {
        { json in
            var infos = json[family] as! [[String: Any]]
            infos[0][key] = value()
            json[family] = infos
        }
    }

    static func editSeal(
        _ key: String,
        _ value: @escaping @Sendable (Any?) -> Any
    ) -> @Sendable (inout [String: Any]) -> Void {
        { json in
            var seal = json["seal"] as! [String: Any]
            seal[key] = value(seal[key])
            json["seal"] = seal
        }
    }

    /// Flips one bit in the middle of a base64 field's bytes.
    static func flipBase64(_ value: Any?) -> Any {
        var bytes = [UInt8](Data(base64Encoded: value as! String)!)
        bytes[bytes.count / 2] ^= 0x01
        return Data(bytes).base64EncodedString()
    }

    static let metadataEdits: [Edit] = [
        Edit(name: "KEK state active → decrypt-only", apply: editKEK("state") { "decrypt-only" }),
        Edit(name: "KEK version 1 → 2", apply: editKEK("version") { 2 }),
        Edit(name: "KEK created time", apply: editKEK("created") { "2020-01-01T00:00:00Z" }),
        Edit(name: "token key state active → retired", apply: editKEK("state", "token_keys") { "retired" }),
        Edit(name: "token key version", apply: editKEK("version", "token_keys") { 7 }),
        Edit(
            name: "second active KEK added",
            apply: { json in
                var infos = json["keks"] as! [[String: Any]]
                infos.append(["version": 2, "state": "active", "created": "2026-09-22T00:00:00Z"])
                json["keks"] = infos
            }
        ),
        Edit(name: "generation 1 → 2", apply: { $0["generation"] = 2 }),
        Edit(name: "generation 1 → 0", apply: { $0["generation"] = 0 }),
        Edit(
            name: "audit_public_key replaced by another valid key",
            apply: { json in
                let other = Ed25519.SigningKey(seed: SecureBytes(randomCount: 32))
                json["audit_public_key"] = Hex.encode(other.publicKey)
            }
        ),
        Edit(
            name: "audit_public_key one bit flipped",
            apply: { json in
                var key = Hex.decode(json["audit_public_key"] as! String)!
                key[0] ^= 0x01
                json["audit_public_key"] = Hex.encode(key)
            }
        ),
        Edit(name: "sealed_keys one bit flipped", apply: { $0["sealed_keys"] = flipBase64($0["sealed_keys"]) }),
    ]

    /// Edits of the root's seal: the unseal key or its AD changes, which cannot be told from a wrong passphrase.
    static let sealEdits: [Edit] = [
        Edit(name: "opslimit 1 → 2", apply: editSeal("opslimit") { _ in 2 }),
        Edit(name: "memlimit halved", apply: editSeal("memlimit") { _ in 4 * 1024 * 1024 }),
        Edit(name: "memlimit doubled", apply: editSeal("memlimit") { _ in 16 * 1024 * 1024 }),
        Edit(name: "salt one bit flipped", apply: editSeal("salt") { flipBase64($0) }),
        Edit(
            name: "salt replaced",
            apply: editSeal("salt") { _ in Data(SecureRandom.bytes(16)).base64EncodedString() }
        ),
        Edit(name: "sealed_root one bit flipped", apply: editSeal("sealed_root") { flipBase64($0) }),
    ]

    static func withEditedKeyring(_ edit: Edit, _ body: (String) throws -> Void) throws {
        try withPrivateTestFolder { folder in
            let path = folder + "/cvault.keyring"
            _ = try Keyring.create(
                at: path,
                credential: .passphrase(testPassphrase(passphrase)),
                kdf: .fastForTests,
                now: Date()
            )
            // The untouched file opens: the failure below is the edit's doing.
            _ = try Keyring.open(at: path, credential: .passphrase(testPassphrase(passphrase)))
            var json = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
            )
            let before = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
            edit.apply(&json)
            let after = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .prettyPrinted])
            #expect(
                try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) != before,
                "the edit changed something"
            )
            try FileSafety.writeAtomically(Array(after), to: path)
            try body(path)
        }
    }

    @Test(arguments: metadataEdits)
    func editedMetadataFailsAuthentication(_ edit: Edit) throws {
        try Self.withEditedKeyring(edit) { path in
            let error = try #require(throws: VaultError.self) {
                _ = try Keyring.open(at: path, credential: .passphrase(testPassphrase(Self.passphrase)))
            }
            #expect(error.code == .integrity)
            let echoed = "\(error)".contains(Self.passphrase)
            #expect(!echoed)
        }
    }

    @Test(arguments: sealEdits)
    func editedSealDoesNotOpen(_ edit: Edit) throws {
        try Self.withEditedKeyring(edit) { path in
            let error = try #require(throws: VaultError.self) {
                _ = try Keyring.open(at: path, credential: .passphrase(testPassphrase(Self.passphrase)))
            }
            #expect(error.code == .wrongPassphrase || error.code == .integrity)
            let echoed = "\(error)".contains(Self.passphrase)
            #expect(!echoed)
        }
    }

    @Test func unknownFormatOrMethodIsRefused() throws {
        let edits = [
            Edit(name: "format_version 2", apply: { $0["format_version"] = 2 }),
            Edit(name: "format renamed", apply: { $0["format"] = "other-keyring" }),
            Edit(name: "kdf renamed", apply: Self.editSeal("kdf") { _ in "argon2i13" }),
            Edit(name: "method renamed", apply: Self.editSeal("method") { _ in "shamir" }),
            Edit(name: "salt removed", apply: Self.editSeal("salt") { _ in NSNull() }),
        ]
        for edit in edits {
            try Self.withEditedKeyring(edit) { path in
                let error = try #require(throws: VaultError.self) {
                    _ = try Keyring.open(at: path, credential: .passphrase(testPassphrase(Self.passphrase)))
                }
                #expect(error.code == .keyring, "\(edit.name)")
            }
        }
    }

    /// Limits libsodium cannot take (or, for memory, that do not fit an Int) are refused, never a trap.
    static let outOfRangeEdits: [Edit] = [
        Edit(name: "memlimit UInt64.max", apply: editSeal("memlimit") { _ in UInt64.max }),
        Edit(name: "memlimit 1 byte", apply: editSeal("memlimit") { _ in 1 }),
        Edit(name: "opslimit 0", apply: editSeal("opslimit") { _ in 0 }),
        Edit(name: "opslimit 2^32", apply: editSeal("opslimit") { _ in UInt64(1) << 32 }),
    ]

    @Test(arguments: outOfRangeEdits)
    func outOfRangeKDFLimitsAreRefused(_ edit: Edit) throws {
        try Self.withEditedKeyring(edit) { path in
            let error = try #require(throws: VaultError.self) {
                _ = try Keyring.open(at: path, credential: .passphrase(testPassphrase(Self.passphrase)))
            }
            #expect(error.code == .keyring)
        }
    }

    @Test func notJSONIsAKeyringErrorAndDoesNotEchoTheFile() throws {
        try withPrivateTestFolder { folder in
            let path = folder + "/cvault.keyring"
            try FileSafety.writeAtomically(Array("{\"format\": \"cvault-keyring\", secret-ish garbage".utf8), to: path)
            let error = try #require(throws: VaultError.self) {
                _ = try Keyring.open(at: path, credential: .passphrase(testPassphrase(Self.passphrase)))
            }
            #expect(error.code == .keyring)
            #expect(!"\(error)".contains("garbage"))
        }
    }
}
