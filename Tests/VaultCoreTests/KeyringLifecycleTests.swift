import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// Keyring changes: rotate the KEK and the token key, retire a KEK, re-seal under a new passphrase. Each
/// writes a new generation that opens from disk with the same keys as the object it returned.
@Suite struct KeyringLifecycleTests {
    static let passphrase = "lifecycle test passphrase"

    static func create(_ folder: String) throws -> Keyring {
        try Keyring.create(
            at: folder + "/cvault.keyring",
            credential: .passphrase(testPassphrase(passphrase)),
            kdf: .fastForTests,
            now: Date(timeIntervalSince1970: 1_790_000_000)
        )
    }

    static func reopen(_ keyring: Keyring, passphrase: String = passphrase) throws -> Keyring {
        try Keyring.open(at: keyring.path, credential: .passphrase(testPassphrase(passphrase)))
    }

    static func states(_ infos: [KeyVersionInfo]) -> [String] { infos.map { "v\($0.version) \($0.state.rawValue)" } }

    @Test func rotateKEKMakesANewActiveVersionAndKeepsTheOld() async throws {
        try await withPrivateFolderAsync { folder in
            let v1 = try Self.create(folder)
            let v2 = try await v1.rotateKEK()
            #expect(v2.generation == 2)
            #expect(v2.activeKEKVersion == 2)
            #expect(Self.states(v2.file.keks) == ["v1 decrypt-only", "v2 active"])
            #expect(v2.kek(version: 1)?.constantTimeEquals(v1.activeKEK) == true)
            #expect(!v2.activeKEK.constantTimeEquals(v1.activeKEK))
            // Everything else is unchanged.
            #expect(v2.activeTokenKey.constantTimeEquals(v1.activeTokenKey))
            #expect(v2.lookupKey.constantTimeEquals(v1.lookupKey))
            #expect(v2.auditPublicKey == v1.auditPublicKey)
            #expect(v2.file.seal == v1.file.seal)
            let opened = try Self.reopen(v2)
            #expect(opened.file == v2.file)
            #expect(opened.activeKEK.constantTimeEquals(v2.activeKEK))
            #expect(opened.kek(version: 1)?.constantTimeEquals(v1.activeKEK) == true)
            let v3 = try await opened.rotateKEK()
            #expect(
                v3.generation == 3 && Self.states(v3.file.keks) == ["v1 decrypt-only", "v2 decrypt-only", "v3 active"]
            )
        }
    }

    @Test func aStaleKeyringObjectBuildsOnTheLatestFile() async throws {
        try await withPrivateFolderAsync { folder in
            let first = try Self.create(folder)
            let second = try await first.rotateKEK()
            // `first` still says generation 1; its change must not overwrite generation 2's new KEK.
            let third = try await first.rotateKEK()
            #expect(third.generation == 3)
            #expect(Self.states(third.file.keks) == ["v1 decrypt-only", "v2 decrypt-only", "v3 active"])
            #expect(third.kek(version: 2)?.constantTimeEquals(second.activeKEK) == true)
            #expect(try await first.reloadIfChanged()?.generation == 3)
            #expect(try Self.reopen(first).file == third.file)
        }
    }

    @Test func rotateTokenKeyChangesNewDeterministicTokensOnly() async throws {
        try await withPrivateFolderAsync { folder in
            let before = try Self.create(folder)
            let after = try await before.rotateTokenKey()
            #expect(after.generation == 2 && after.activeTokenKeyVersion == 2)
            #expect(Self.states(after.file.tokenKeys) == ["v1 decrypt-only", "v2 active"])
            #expect(after.activeKEKVersion == 1 && after.activeKEK.constantTimeEquals(before.activeKEK))
            // The look-up key, which finds existing tokens' rows, is unchanged: old tokens keep resolving.
            #expect(after.lookupKey.constantTimeEquals(before.lookupKey))
            let old = TokenFormat.deterministic(
                kind: .email,
                scope: "default",
                normalized: "ada@example.com",
                key: before.activeTokenKey
            )
            let new = TokenFormat.deterministic(
                kind: .email,
                scope: "default",
                normalized: "ada@example.com",
                key: after.activeTokenKey
            )
            #expect(old != new)
            #expect(
                Binding.lookup(token: old, key: after.lookupKey) == Binding.lookup(token: old, key: before.lookupKey)
            )
            let opened = try Self.reopen(after)
            #expect(opened.activeTokenKey.constantTimeEquals(after.activeTokenKey))
            #expect(opened.material.tokenKeys[1]?.constantTimeEquals(before.activeTokenKey) == true)
        }
    }

    @Test func retireRemovesTheMaterialOnDiskAndInMemory() async throws {
        try await withPrivateFolderAsync { folder in
            let v1 = try Self.create(folder)
            let rotated = try await v1.rotateKEK()
            let retired = try await rotated.retireKEK(version: 1, dataKeysUsingIt: 0)
            #expect(retired.generation == 3)
            #expect(Self.states(retired.file.keks) == ["v1 retired", "v2 active"])
            #expect(retired.kek(version: 1) == nil)
            #expect(retired.kek(version: 2)?.constantTimeEquals(rotated.activeKEK) == true)
            let opened = try Self.reopen(retired)
            #expect(opened.kek(version: 1) == nil)
            #expect(opened.material.keks.keys.sorted() == [2])
            // The old KEK's bytes are nowhere in the new sealed material: open it and look.
            let sealed = try #require(Data(base64Encoded: opened.file.sealedKeys))
            let material = try XChaCha20Poly1305.openKey(
                [UInt8](sealed),
                ad: opened.file.keysAssociatedData,
                key: opened.root
            )
            let oldKEK = v1.activeKEK.withUnsafeBytes { Array($0) }
            let stillThere = material.withUnsafeBytes { Array($0) }.containsByteRun(oldKEK)
            #expect(!stillThere, "the retired KEK's bytes are still sealed in the keyring")
            // Retiring twice is refused and changes nothing.
            let again = await #expect(throws: VaultError.self) {
                _ = try await opened.retireKEK(version: 1, dataKeysUsingIt: 0)
            }
            #expect(again?.message == "KEK v1 is already retired")
            #expect(try KeyringFile.read(at: opened.path).generation == 3)
        }
    }

    @Test func theActiveVersionCannotBeRetired() async throws {
        try await withPrivateFolderAsync { folder in
            let keyring = try Self.create(folder)
            let error = await #expect(throws: VaultError.self) {
                _ = try await keyring.retireKEK(version: 1, dataKeysUsingIt: 0)
            }
            #expect(error?.code == .invalidRequest)
            #expect(error?.message == "KEK v1 is the active version and cannot be retired")
            #expect(error?.hint?.contains("cvault keys rotate") == true)
            let rotated = try await keyring.rotateKEK()
            let active = await #expect(throws: VaultError.self) {
                _ = try await rotated.retireKEK(version: 2, dataKeysUsingIt: 0)
            }
            #expect(active?.message == "KEK v2 is the active version and cannot be retired")
            #expect(try KeyringFile.read(at: keyring.path).generation == 2)
            #expect(try Self.reopen(keyring).kek(version: 2) != nil)
        }
    }

    @Test func aVersionInUseIsRefusedWithTheCount() async throws {
        try await withPrivateFolderAsync { folder in
            let rotated = try await Self.create(folder).rotateKEK()
            for count in [1, 7, 10_000] {
                let error = await #expect(throws: VaultError.self) {
                    _ = try await rotated.retireKEK(version: 1, dataKeysUsingIt: count)
                }
                #expect(error?.code == .invalidRequest)
                #expect(error?.message == "KEK v1 still wraps \(count) data key(s)")
                #expect(error?.hint?.contains("cvault keys rewrap") == true)
            }
            let unknown = await #expect(throws: VaultError.self) {
                _ = try await rotated.retireKEK(version: 9, dataKeysUsingIt: 0)
            }
            #expect(unknown?.message == "there is no KEK v9")
            let file = try KeyringFile.read(at: rotated.path)
            #expect(file.generation == 2 && Self.states(file.keks) == ["v1 decrypt-only", "v2 active"])
            #expect(try Self.reopen(rotated).kek(version: 1) != nil)
        }
    }

    @Test func resealedOpensWithTheNewPassphraseOnlyAndKeepsEveryKey() async throws {
        try await withPrivateFolderAsync { folder in
            let before = try await Self.create(folder).rotateKEK()
            let after = try await before.resealed(
                passphrase: testPassphrase("a brand new passphrase"),
                kdf: .fastForTests
            )
            #expect(after.generation == 3)
            #expect(after.file.seal.salt != before.file.seal.salt)
            #expect(after.file.keks == before.file.keks && after.file.tokenKeys == before.file.tokenKeys)
            let error = #expect(throws: VaultError.self) { _ = try Self.reopen(after) }
            #expect(error?.code == .wrongPassphrase)
            let opened = try Self.reopen(after, passphrase: "a brand new passphrase")
            // A new root key, the same keys under it.
            #expect(!opened.root.constantTimeEquals(before.root))
            #expect(opened.root.constantTimeEquals(after.root))
            #expect(opened.kek(version: 1)?.constantTimeEquals(before.kek(version: 1)!) == true)
            #expect(opened.activeKEK.constantTimeEquals(before.activeKEK))
            #expect(opened.activeTokenKey.constantTimeEquals(before.activeTokenKey))
            #expect(opened.lookupKey.constantTimeEquals(before.lookupKey))
            #expect(opened.auditPublicKey == before.auditPublicKey)
            // A process holding the old root key cannot follow (that is the point), and says so.
            let stale = await #expect(throws: VaultError.self) { _ = try await before.reloadIfChanged() }
            #expect(stale?.code == .sealed)
            #expect(stale?.message.contains("re-sealed under a new root key") == true)
            #expect(try await after.rotateKEK().generation == 4)
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == [
                    "cvault.keyring", "cvault.keyring.lock",
                ]
            )
        }
    }

    /// The review's splice: an old passphrase opens the old seal, so it yields the old root key; a later file
    /// with that old seal pasted in (or the old root applied to the later `sealed_keys`) must open nothing,
    /// keys rotated in after the change included.
    @Test func anOldPassphraseOpensNoKeyringFileWrittenAfterTheChange() async throws {
        try await withPrivateFolderAsync { folder in
            let before = try Self.create(folder)
            let oldSeal = before.file.seal
            let after = try await before.resealed(
                passphrase: testPassphrase("a brand new passphrase"),
                kdf: .fastForTests
            )
            let later = try await after.rotateKEK().rotateTokenKey()
            var spliced = later.file
            spliced.seal = oldSeal
            let splicedPath = folder + "/spliced.keyring"
            try FileSafety.writeAtomically(spliced.encoded(), to: splicedPath, replace: false)
            let error = #expect(throws: VaultError.self) {
                _ = try Keyring.open(at: splicedPath, credential: .passphrase(testPassphrase(Self.passphrase)))
            }
            #expect(error?.code == .integrity)
            let sealed = try #require(Data(base64Encoded: later.file.sealedKeys))
            #expect(throws: VaultError.self) {
                _ = try KeyMaterial.open([UInt8](sealed), root: before.root, ad: later.file.keysAssociatedData)
            }
            // The new passphrase opens the later file, with every key from before still there.
            let opened = try Self.reopen(later, passphrase: "a brand new passphrase")
            #expect(opened.kek(version: 1)?.constantTimeEquals(before.activeKEK) == true)
            #expect(opened.activeKEKVersion == 2 && opened.activeKEK.constantTimeEquals(later.activeKEK))
            #expect(opened.file.tokenKeys.count == 2)
            #expect(opened.lookupKey.constantTimeEquals(before.lookupKey))
        }
    }

    @Test func resealRefusesAShortPassphraseAndChangesNothing() async throws {
        try await withPrivateFolderAsync { folder in
            let keyring = try Self.create(folder)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: keyring.path))
            let error = await #expect(throws: VaultError.self) {
                _ = try await keyring.resealed(passphrase: testPassphrase("short"), kdf: .fastForTests)
            }
            #expect(error?.code == .invalidRequest)
            #expect(try Data(contentsOf: URL(fileURLWithPath: keyring.path)) == bytes)
        }
    }

    @Test func aStaleTemporaryFileFromACrashBreaksNeitherOpeningNorTheNextWrite() async throws {
        try await withPrivateFolderAsync { folder in
            let keyring = try Self.create(folder)
            // What a kill between writing the temporary and renaming it leaves.
            try Data("half a keyring".utf8).write(to: URL(fileURLWithPath: keyring.path + ".tmp"))
            #expect(try Self.reopen(keyring).generation == 1)
            let rotated = try await keyring.rotateKEK()
            #expect(try Self.reopen(rotated).generation == 2)
            #expect(!FileManager.default.fileExists(atPath: keyring.path + ".tmp"))
        }
    }
}
