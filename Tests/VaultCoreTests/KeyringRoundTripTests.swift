import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// Creating and opening keyrings: the passphrase, the KDF cost written, refusal to overwrite, reloads.
@Suite struct KeyringRoundTripTests {
    static let passphrase = "correct horse battery staple"
    static let created = Date(timeIntervalSince1970: 1_790_000_000)

    static func create(_ folder: String, passphrase: String = passphrase) throws -> Keyring {
        try Keyring.create(
            at: folder + "/cvault.keyring",
            credential: .passphrase(testPassphrase(passphrase)),
            kdf: .fastForTests,
            now: created
        )
    }

    @Test func createThenOpenGivesTheSameKeys() throws {
        try withPrivateTestFolder { folder in
            let made = try Self.create(folder)
            let opened = try Keyring.open(at: made.path, credential: .passphrase(testPassphrase(Self.passphrase)))
            #expect(opened.file == made.file)
            #expect(opened.generation == 1)
            #expect(opened.activeKEKVersion == 1 && opened.activeTokenKeyVersion == 1)
            #expect(opened.activeKEK.constantTimeEquals(made.activeKEK))
            #expect(opened.activeTokenKey.constantTimeEquals(made.activeTokenKey))
            #expect(opened.lookupKey.constantTimeEquals(made.lookupKey))
            #expect(opened.root.constantTimeEquals(made.root))
            #expect(opened.auditPublicKey == made.auditPublicKey)
            #expect(Hex.encode(opened.auditPublicKey) == opened.file.auditPublicKey)
            // Every key is distinct: no role shares material with another.
            let keys = [
                opened.root, opened.activeKEK, opened.activeTokenKey, opened.lookupKey, opened.material.auditSeed,
            ]
            for i in keys.indices {
                for j in keys.indices where i < j { #expect(!keys[i].constantTimeEquals(keys[j])) }
            }
            // The audit signer really is the key whose public half is published.
            let message = AuditChain.sealMessage(seq: 1, hash: AuditChain.genesis)
            #expect(
                Ed25519.verify(
                    signature: opened.auditSigner.sign(message),
                    message: message,
                    publicKey: made.auditPublicKey
                )
            )
            #expect(opened.file.keks == [KeyVersionInfo(version: 1, state: .active, created: "2026-09-21T14:13:20Z")])
        }
    }

    @Test func twoKeyringsShareNoKeys() throws {
        try withPrivateTestFolder { folder in
            try FileManager.default.createDirectory(atPath: folder + "/b", withIntermediateDirectories: false)
            let a = try Self.create(folder)
            let b = try Self.create(folder + "/b")
            #expect(!a.root.constantTimeEquals(b.root))
            #expect(!a.activeKEK.constantTimeEquals(b.activeKEK))
            #expect(a.auditPublicKey != b.auditPublicKey)
            #expect(a.file.seal.salt != b.file.seal.salt)
        }
    }

    @Test func theFileHoldsNoKeyInTheClear() throws {
        try withPrivateTestFolder { folder in
            let keyring = try Self.create(folder)
            let text = try String(contentsOfFile: keyring.path, encoding: .utf8)
            let bytes = Array(text.utf8)
            let keys = [
                keyring.root, keyring.activeKEK, keyring.activeTokenKey, keyring.lookupKey, keyring.material.auditSeed,
            ]
            // Indices of keys found, never the keys themselves, so a failure prints nothing secret.
            let found = keys.indices.filter { i in
                keys[i].withUnsafeBytes { raw in
                    let secret = Array(raw)
                    return text.contains(Hex.encode(secret)) || text.contains(Data(secret).base64EncodedString())
                        || bytes.containsByteRun(secret)
                }
            }
            #expect(found.isEmpty, "keys (by index) found in the file")
            let passphraseInFile = text.contains(Self.passphrase)
            #expect(!passphraseInFile)
        }
    }

    /// The one test that pays Argon2id MODERATE (~0.6 s, 256 MiB): the public `create` never writes less.
    @Test func publicCreateWritesAtLeastModerateCost() throws {
        try withPrivateTestFolder { folder in
            let path = folder + "/cvault.keyring"
            _ = try Keyring.create(
                at: path,
                credential: .passphrase(testPassphrase(Self.passphrase)),
                now: Self.created
            )
            let file = try KeyringFile.read(at: path)
            #expect(file.seal.method == "passphrase")
            #expect(file.seal.kdf == Argon2id.algorithmName)
            let ops = try #require(file.seal.opslimit)
            let mem = try #require(file.seal.memlimit)
            #expect(ops >= Argon2id.moderateOps)
            #expect(mem >= Argon2id.moderateMem)
            #expect(Argon2id.moderateOps >= 3 && Argon2id.moderateMem >= 256 << 20)
            #expect(PassphraseKDF.moderate.opsLimit >= Argon2id.moderateOps)
            let salt = try #require(file.seal.salt)
            #expect(Data(base64Encoded: salt)?.count == Argon2id.saltBytes)
        }
    }

    @Test func wrongPassphraseIsWrongPassphraseAndNeverEchoed() throws {
        try withPrivateTestFolder { folder in
            let keyring = try Self.create(folder)
            let wrong = "incorrect mule battery staple"
            let error = try #require(throws: VaultError.self) {
                _ = try Keyring.open(at: keyring.path, credential: .passphrase(testPassphrase(wrong)))
            }
            #expect(error.code == .wrongPassphrase)
            let text = "\(error) \(error.message) \(error.hint ?? "") \(String(reflecting: error))"
            let echoed = text.contains(wrong) || text.contains(Self.passphrase) || text.contains("mule")
            #expect(!echoed, "the error names a passphrase")
            #expect(text.contains(keyring.path))
            // A one-character difference is just as wrong.
            let near = try #require(throws: VaultError.self) {
                _ = try Keyring.open(at: keyring.path, credential: .passphrase(testPassphrase(Self.passphrase + " ")))
            }
            #expect(near.code == .wrongPassphrase)
        }
    }

    @Test func shortPassphrasesAreRefusedAndNothingIsWritten() throws {
        try withPrivateTestFolder { folder in
            let path = folder + "/cvault.keyring"
            let eleven = "elevenchars"
            #expect(eleven.utf8.count == Keyring.minimumPassphraseBytes - 1)
            let error = try #require(throws: VaultError.self) {
                _ = try Keyring.create(
                    at: path,
                    credential: .passphrase(testPassphrase(eleven)),
                    kdf: .fastForTests,
                    now: Self.created
                )
            }
            #expect(error.code == .invalidRequest)
            let echoed = "\(error)".contains(eleven)
            #expect(!echoed)
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
            // Exactly the minimum is enough.
            _ = try Keyring.create(
                at: path,
                credential: .passphrase(testPassphrase("twelve chars")),
                kdf: .fastForTests,
                now: Self.created
            )
            _ = try Keyring.open(at: path, credential: .passphrase(testPassphrase("twelve chars")))
        }
    }

    @Test func refusesToOverwriteAnExistingKeyring() throws {
        try withPrivateTestFolder { folder in
            let first = try Self.create(folder)
            let before = try Data(contentsOf: URL(fileURLWithPath: first.path))
            let error = try #require(throws: VaultError.self) {
                _ = try Self.create(folder, passphrase: "another passphrase here")
            }
            #expect(error.code == .alreadyInitialized)
            #expect(try Data(contentsOf: URL(fileURLWithPath: first.path)) == before)
            // The original still opens with its own passphrase and the same keys.
            let reopened = try Keyring.open(at: first.path, credential: .passphrase(testPassphrase(Self.passphrase)))
            #expect(reopened.activeKEK.constantTimeEquals(first.activeKEK))
        }
    }

    @Test func createWritesMode0600AtomicallyWithNoTemporaryLeft() throws {
        try withPrivateTestFolder { folder in
            let keyring = try Self.create(folder)
            #expect(try permissionBits(keyring.path) == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["cvault.keyring"])
            #expect(!FileManager.default.fileExists(atPath: keyring.path + ".tmp"))
        }
    }

    @Test func reloadIfChangedIsNilWhenUnchanged() async throws {
        try await withPrivateFolderAsync { folder in
            let keyring = try Self.create(folder)
            #expect(try await keyring.reloadIfChanged() == nil)
            // Rewriting identical content (a touch) is no change either.
            try FileSafety.writeAtomically(keyring.file.encoded(), to: keyring.path)
            #expect(try await keyring.reloadIfChanged() == nil)
        }
    }

    @Test func reloadIfChangedPicksUpANewGeneration() async throws {
        try await withPrivateFolderAsync { folder in
            let keyring = try Self.create(folder)
            // What a rotation made by another process does: a new generation, resealed under the same root.
            var next = keyring.file
            next.generation = 2
            var keks = keyring.material.keks
            keks[2] = SecureBytes(randomCount: 32)
            next.keks = [
                KeyVersionInfo(version: 1, state: .decryptOnly, created: next.keks[0].created),
                KeyVersionInfo(version: 2, state: .active, created: "2026-09-22T00:00:00Z"),
            ]
            let material = KeyMaterial(
                keks: keks,
                tokenKeys: keyring.material.tokenKeys,
                lookupKey: keyring.material.lookupKey,
                auditSeed: keyring.material.auditSeed
            )
            next.sealedKeys = Data(material.sealed(root: keyring.root, ad: next.keysAssociatedData))
                .base64EncodedString()
            try FileSafety.writeAtomically(next.encoded(), to: keyring.path)

            let fresh = try #require(try await keyring.reloadIfChanged())
            #expect(fresh.generation == 2)
            #expect(fresh.activeKEKVersion == 2)
            let old = try #require(fresh.kek(version: 1))
            let new = try #require(keks[2])
            #expect(old.constantTimeEquals(keyring.activeKEK))
            #expect(fresh.activeKEK.constantTimeEquals(new))
            #expect(try await fresh.reloadIfChanged() == nil)
        }
    }

    @Test func reloadRefusesAnEditedNewGeneration() async throws {
        try await withPrivateFolderAsync { folder in
            let keyring = try Self.create(folder)
            // Someone bumps the generation without the root key: the reload must fail, not adopt it.
            var edited = keyring.file
            edited.generation = 2
            try FileSafety.writeAtomically(edited.encoded(), to: keyring.path)
            let error = try await #require(throws: VaultError.self) { _ = try await keyring.reloadIfChanged() }
            #expect(error.code == .integrity)
        }
    }
}
