import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// A keyring sealed by Shamir shares: every threshold combination opens it with the same keys; too few,
/// a repeated, a corrupted, a foreign or a forged share does not, each with its own error.
@Suite struct ShamirKeyringTests {
    static func make(_ folder: String, threshold: Int = 3, count: Int = 5) throws -> (Keyring, [UnsealShare]) {
        try Keyring.createWithShares(
            at: folder + "/cvault.keyring",
            threshold: threshold,
            count: count,
            now: Date(timeIntervalSince1970: 1_790_000_000)
        )
    }

    static func open(_ keyring: Keyring, _ shares: [UnsealShare]) throws(VaultError) -> Keyring {
        try Keyring.open(at: keyring.path, credential: .shares(shares))
    }

    @Test func everyThreeOfFiveCombinationOpensWithTheSameKeys() async throws {
        try withPrivateTestFolder { folder in
            let (keyring, shares) = try Self.make(folder)
            #expect(shares.count == 5 && Set(shares.map(\.index)) == [1, 2, 3, 4, 5])
            #expect(shares.allSatisfy { $0.threshold == 3 && $0.setID == keyring.file.seal.salt })
            #expect(
                keyring.file.seal.method == "shamir" && keyring.file.seal.threshold == 3
                    && keyring.file.seal.shares == 5
            )
            let combinations = ShamirSplitCombineTests.combinations(5, 3)
            #expect(combinations.count == 10)
            for chosen in combinations {
                // Through the text form, as holders hand them in.
                let handedIn = try chosen.map { try UnsealShare.parse(shares[$0].encoded(), source: "share \($0 + 1)") }
                let opened = try Self.open(keyring, handedIn)
                #expect(opened.root.constantTimeEquals(keyring.root), "shares \(chosen.map { $0 + 1 })")
                #expect(opened.activeKEK.constantTimeEquals(keyring.activeKEK))
                #expect(opened.file == keyring.file)
            }
            // All five work as well; only the first three are used.
            #expect(try Self.open(keyring, shares).root.constantTimeEquals(keyring.root))
        }
    }

    @Test func theKeyringFileHoldsNoShareAndNoSecret() async throws {
        try withPrivateTestFolder { folder in
            let (keyring, shares) = try Self.make(folder)
            let text = try String(contentsOfFile: keyring.path, encoding: .utf8)
            let found = shares.indices.filter { text.contains(shares[$0].y.withUnsafeBytes { Hex.encode($0) }) }
            #expect(found.isEmpty)
            #expect(try permissionBits(keyring.path) == 0o600)
        }
    }

    @Test func twoSharesAreRefusedNamingTheThreshold() async throws {
        try withPrivateTestFolder { folder in
            let (keyring, shares) = try Self.make(folder)
            for pair in ShamirSplitCombineTests.combinations(5, 2) {
                let error = #expect(throws: VaultError.self) { _ = try Self.open(keyring, pair.map { shares[$0] }) }
                #expect(error?.code == .wrongPassphrase)
                #expect(error?.message == "2 share(s) given; this keyring needs 3")
            }
        }
    }

    @Test func aRepeatedShareIsRefusedEvenWithEnoughOthers() async throws {
        try withPrivateTestFolder { folder in
            let (keyring, shares) = try Self.make(folder)
            for given in [
                [shares[0], shares[0], shares[1]], [shares[2], shares[3], shares[2]],
                [shares[0], shares[1], shares[2], shares[1]],
            ] {
                let error = #expect(throws: VaultError.self) { _ = try Self.open(keyring, given) }
                #expect(error?.code == .invalidRequest)
                #expect(error?.message.contains("the same share was given more than once") == true)
            }
            let error = #expect(throws: VaultError.self) {
                _ = try Self.open(keyring, [shares[4], shares[4], shares[4]])
            }
            #expect(error?.message.contains("(share 5)") == true)
        }
    }

    @Test func aShareOfAnotherVaultIsNamedAsSuch() async throws {
        try withPrivateTestFolder { folder in
            try FileManager.default.createDirectory(atPath: folder + "/other", withIntermediateDirectories: false)
            let (keyring, shares) = try Self.make(folder)
            let (_, foreign) = try Self.make(folder + "/other")
            #expect(foreign[0].setID != shares[0].setID)
            let error = #expect(throws: VaultError.self) {
                _ = try Self.open(keyring, [shares[0], shares[1], foreign[2]])
            }
            #expect(error?.code == .invalidRequest)
            #expect(error?.message == "share 3 belongs to another vault's share set")
        }
    }

    @Test func aCorruptedShareIsCaughtByItsCheckBeforeCombining() async throws {
        try withPrivateTestFolder { folder in
            let (_, shares) = try Self.make(folder)
            var text = Array(shares[1].encoded())
            let yStart = text.count - 16 - 1 - 64
            text[yStart + 10] = text[yStart + 10] == "0" ? "1" : "0"
            let error = #expect(throws: VaultError.self) {
                _ = try UnsealShare.parse(String(text), source: "/shares/cvault-share-2.txt")
            }
            #expect(error?.message == "/shares/cvault-share-2.txt is corrupted (its check digits do not match)")
        }
    }

    /// Shares that pass every format check (right set, distinct indices, valid check digits) but whose y was
    /// altered: the combination gives a wrong secret, and the sealed root key says so.
    @Test func wellFormedButWrongSharesFailToOpenAsWrongPassphrase() async throws {
        try withPrivateTestFolder { folder in
            let (keyring, shares) = try Self.make(folder)
            let forged = UnsealShare(
                setID: shares[2].setID,
                threshold: 3,
                index: shares[2].index,
                y: SecureBytes(randomCount: 32)
            )
            let reparsed = try UnsealShare.parse(forged.encoded(), source: "share 3")  // its check is valid
            let error = #expect(throws: VaultError.self) {
                _ = try Self.open(keyring, [shares[0], shares[1], reparsed])
            }
            #expect(error?.code == .wrongPassphrase)
            #expect(error?.message.contains("the shares do not open keyring") == true)
            // An index the set never had, with a valid check, is just as wrong.
            let extra = UnsealShare(setID: shares[0].setID, threshold: 3, index: 9, y: SecureBytes(randomCount: 32))
            let second = #expect(throws: VaultError.self) { _ = try Self.open(keyring, [shares[0], shares[1], extra]) }
            #expect(second?.code == .wrongPassphrase)
        }
    }

    @Test func aPassphraseDoesNotOpenASharesKeyringNorSharesAPassphraseOne() async throws {
        try withPrivateTestFolder { folder in
            try FileManager.default.createDirectory(atPath: folder + "/p", withIntermediateDirectories: false)
            let (keyring, shares) = try Self.make(folder)
            let byPassphrase = #expect(throws: VaultError.self) {
                _ = try Keyring.open(
                    at: keyring.path,
                    credential: .passphrase(testPassphrase("a long enough passphrase"))
                )
            }
            #expect(byPassphrase?.code == .keyring)
            let other = try Keyring.create(
                at: folder + "/p/cvault.keyring",
                credential: .passphrase(testPassphrase("a long enough passphrase")),
                kdf: .fastForTests,
                now: Date()
            )
            let byShares = #expect(throws: VaultError.self) {
                _ = try Keyring.open(at: other.path, credential: .shares(shares))
            }
            #expect(byShares?.code == .keyring)
        }
    }

    @Test func badThresholdsAreRefusedAndWriteNothing() async throws {
        try withPrivateTestFolder { folder in
            for bad in [[1, 5], [6, 5], [3, 17], [17, 17], [0, 0]] {
                let error = #expect(throws: VaultError.self) {
                    _ = try Self.make(folder, threshold: bad[0], count: bad[1])
                }
                #expect(error?.code == .invalidRequest)
            }
            let written = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(written.isEmpty)
        }
    }

    @Test func resealingWithSharesKeepsTheKeysAndRetiresThePassphrase() async throws {
        try await withPrivateFolderAsync { folder in
            let passphrase = "the passphrase before shares"
            let keyring = try Keyring.create(
                at: folder + "/cvault.keyring",
                credential: .passphrase(testPassphrase(passphrase)),
                kdf: .fastForTests,
                now: Date()
            )
            let (resealed, shares) = try await keyring.resealedWithShares(threshold: 2, count: 3)
            #expect(resealed.generation == 2)
            for pair in ShamirSplitCombineTests.combinations(3, 2) {
                let opened = try Self.open(keyring, pair.map { shares[$0] })
                #expect(opened.activeKEK.constantTimeEquals(keyring.activeKEK))
                #expect(opened.lookupKey.constantTimeEquals(keyring.lookupKey))
            }
            let error = #expect(throws: VaultError.self) {
                _ = try Keyring.open(at: keyring.path, credential: .passphrase(testPassphrase(passphrase)))
            }
            #expect(error?.code == .keyring)
            // And back to a passphrase.
            let back = try await resealed.resealed(
                passphrase: testPassphrase("the passphrase after shares"),
                kdf: .fastForTests
            )
            #expect(back.generation == 3 && back.file.seal.method == "passphrase")
            #expect(
                try Keyring.open(
                    at: keyring.path,
                    credential: .passphrase(testPassphrase("the passphrase after shares"))
                )
                .activeKEK.constantTimeEquals(keyring.activeKEK)
            )
            #expect(throws: VaultError.self) { _ = try Self.open(keyring, Array(shares.prefix(2))) }
        }
    }

    /// Re-sharing makes a new root key: the old shares, with a file written after it, open nothing.
    @Test func oldSharesOpenNoKeyringFileWrittenAfterResharing() async throws {
        try await withPrivateFolderAsync { folder in
            let (keyring, oldShares) = try Self.make(folder, threshold: 2, count: 3)
            let oldSeal = keyring.file.seal
            let (reshared, newShares) = try await keyring.resealedWithShares(threshold: 2, count: 3)
            #expect(!reshared.root.constantTimeEquals(keyring.root))
            let later = try await reshared.rotateKEK()
            var spliced = later.file
            spliced.seal = oldSeal
            let splicedPath = folder + "/spliced.keyring"
            try FileSafety.writeAtomically(spliced.encoded(), to: splicedPath, replace: false)
            let error = #expect(throws: VaultError.self) {
                _ = try Keyring.open(at: splicedPath, credential: .shares(Array(oldShares.prefix(2))))
            }
            #expect(error?.code == .integrity)
            // The old shares no longer open the real file either; the new ones open it with every key.
            #expect(throws: VaultError.self) { _ = try Self.open(later, Array(oldShares.prefix(2))) }
            let opened = try Self.open(later, Array(newShares.suffix(2)))
            #expect(opened.kek(version: 1)?.constantTimeEquals(keyring.activeKEK) == true)
            #expect(opened.activeKEK.constantTimeEquals(later.activeKEK))
            #expect(opened.lookupKey.constantTimeEquals(keyring.lookupKey))
        }
    }
}
