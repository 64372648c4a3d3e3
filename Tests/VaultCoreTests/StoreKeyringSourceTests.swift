import Foundation
import Logging
import Synchronization
import Testing
import VaultTestSupport

@testable import VaultCore

/// The keyring kept by the store (`StoreKeyringSource`), as with PostgreSQL, on the in-memory twin: stored as
/// the file source writes it, changed by compare-and-set (two admins at once: one wins, the other is told to
/// run again), picked up by a polling holder, and checked inside the write before a new data key is wrapped.
@Suite struct StoreKeyringSourceTests {
    static let passphrase = "store keyring test passphrase"

    static func source(_ store: InMemoryKeyringStore, folder: String = "/nonexistent/keys") -> StoreKeyringSource {
        StoreKeyringSource(store: store, name: "in the database postgresql://cvault@db/vault", keysFolder: folder)
    }

    static func create(in source: StoreKeyringSource) async throws -> Keyring {
        try await Keyring.create(
            in: source,
            credential: .passphrase(testPassphrase(passphrase)),
            kdf: .fastForTests,
            now: Date(timeIntervalSince1970: 1_800_000_000)
        )
    }

    static func reopen(_ source: StoreKeyringSource) async throws -> Keyring {
        try await Keyring.open(from: source, credential: .passphrase(testPassphrase(passphrase)))
    }

    @Test func aKeyringCreatedInTheStoreIsStoredAsTheFileSourceWritesItAndOpensFromThere() async throws {
        let store = InMemoryKeyringStore()
        let source = Self.source(store, folder: "/srv/cvault/keys")
        let made = try await Self.create(in: source)
        let stored = try #require(try await store.storedKeyring())
        #expect(stored.generation == 1)
        #expect(stored.bytes == made.file.encoded())
        #expect(source.anchorPath == "/srv/cvault/keys/audit.anchor", "the anchor stays a local file")
        let opened = try await Self.reopen(source)
        #expect(opened.file == made.file)
        #expect(opened.activeKEK.constantTimeEquals(made.activeKEK))
        // A wrong passphrase opens nothing; a second keyring is never stored over the first.
        let wrong = await #expect(throws: VaultError.self) {
            _ = try await Keyring.open(from: source, credential: .passphrase(testPassphrase("not the passphrase!")))
        }
        #expect(wrong?.code == .wrongPassphrase)
        let again = await #expect(throws: VaultError.self) { _ = try await Self.create(in: source) }
        #expect(again?.code == .alreadyInitialized)
        #expect(try await store.storedKeyring()?.bytes == made.file.encoded())
    }

    @Test func anEmptyStoreHasNoKeyring() async throws {
        let error = await #expect(throws: VaultError.self) {
            _ = try await Self.reopen(Self.source(InMemoryKeyringStore()))
        }
        #expect(error?.code == .notInitialized)
    }

    /// Two admins change generation 1 at once: the one whose compare-and-set lands second is refused with a
    /// retry error and stores nothing; run again, it builds on the winner's generation.
    @Test func ofTwoChangesToOneGenerationTheSecondIsRefusedAndSucceedsWhenRunAgain() async throws {
        let store = InMemoryKeyringStore()
        let source = Self.source(store)
        let first = try await Self.create(in: source)
        let second = try await Self.reopen(source)
        let winner = Mutex<Keyring?>(nil)
        store.interleave {
            let rotated = try await first.rotateKEK()
            winner.withLock { $0 = rotated }
        }
        let lost = await #expect(throws: VaultError.self) { _ = try await second.rotateTokenKey() }
        #expect(lost?.code == .keyring)
        #expect(lost?.message.contains("was changed by another process") == true)
        #expect(lost?.message.contains("generation 2, expected 1") == true)
        #expect(lost?.hint == "run the command again: it starts from the keyring as it is now")
        let won = try #require(winner.withLock { $0 })
        #expect(try await store.storedKeyring()?.bytes == won.file.encoded(), "the loser stored nothing")
        let retried = try await second.rotateTokenKey()
        #expect(retried.generation == 3)
        #expect(retried.activeKEKVersion == 2, "the retry kept the winner's rotation")
        #expect(retried.activeTokenKeyVersion == 2)
        #expect(try await Self.reopen(source).file == retried.file)
    }

    /// Many changes at once from separate processes' keyrings: each stored one is a generation of its own,
    /// and every refused one stored nothing.
    @Test func concurrentChangesNeverLoseOneThatWasReportedStored() async throws {
        let store = InMemoryKeyringStore()
        let source = Self.source(store)
        _ = try await Self.create(in: source)
        var admins: [Keyring] = []
        for _ in 0..<8 { admins.append(try await Self.reopen(source)) }
        let outcomes = await withTaskGroup(of: Int?.self) { group in
            for admin in admins {
                group.addTask { try? await admin.rotateKEK().generation }
            }
            var all: [Int?] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let stored = outcomes.compactMap { $0 }
        #expect(!stored.isEmpty)
        #expect(Set(stored).count == stored.count, "two changes claimed one generation")
        let final = try await Self.reopen(source)
        #expect(final.generation == 1 + stored.count)
        #expect(final.file.keks.count == 1 + stored.count, "every change reported stored is in the keyring")
    }

    @Test func aHolderPicksUpAChangeStoredByAnotherProcess() async throws {
        let store = InMemoryKeyringStore()
        let source = Self.source(store)
        let keyring = try await Self.create(in: source)
        let holder = KeyringHolder(keyring, logger: Logger(label: "test"))
        #expect(try await holder.reloadIfChanged() == nil)
        #expect(try await source.changed(since: 1) == nil)
        _ = try await Self.reopen(source).rotateKEK()
        #expect(try await holder.reloadIfChanged() == 2)
        #expect(holder.current.activeKEKVersion == 2)
        #expect(try await holder.reloadIfChanged() == nil)
    }

    @Test func aStoredGenerationThatDisagreesWithTheSealedOneIsRefused() async throws {
        let store = InMemoryKeyringStore()
        let source = Self.source(store)
        let keyring = try await Self.create(in: source)
        store.overwriteKeyring(bytes: keyring.file.encoded(), generation: 7)
        let error = await #expect(throws: VaultError.self) { _ = try await Self.reopen(source) }
        #expect(error?.code == .integrity)
    }

    /// Inside a write: the held generation still stored is current without a parse; a later generation is
    /// judged by its active KEK, so a token-key rotation does not stop new data keys, and a KEK rotation does.
    @Test func theInWriteCheckFollowsTheStoredActiveKEK() async throws {
        let store = InMemoryKeyringStore()
        let source = Self.source(store)
        let held = try await Self.create(in: source)
        func current() async throws -> Bool {
            try await store.write { writer in
                try source.isActiveKEK(held.activeKEKVersion, generation: held.generation, in: writer)
            }
        }
        #expect(try await current())
        let tokenRotated = try await Self.reopen(source).rotateTokenKey()
        #expect(try await current(), "a token key rotation leaves KEK v1 active")
        _ = try await tokenRotated.rotateKEK()
        #expect(try await current() == false, "KEK v1 was demoted in the store")
    }

    /// A vault that has not yet picked up a KEK rotation stored by another process wraps a new subject's data
    /// key with the new KEK all the same (the check inside the write sends the request round once more).
    @Test func aVaultWrapsNewDataKeysWithTheKEKActiveInTheStoreBeforeItsPickup() async throws {
        let store = InMemoryKeyringStore()
        let source = Self.source(store)
        let keyring = try await Self.create(in: source)
        let policies = PolicyHolder(
            path: "",
            initial: try Policy.parse(yaml: serviceYAML()),
            logger: Logger(label: "t")
        )
        let vault = Vault(keyring: keyring, store: store, policies: policies, clock: TestClock().vaultClock)
        let svc = try vault.caller(uid: UID.service)
        _ = try await vault.tokenize(TokenizeRequest(kind: .name, subject: "cust-before", values: ["Ada"]), caller: svc)
        _ = try await Self.reopen(source).rotateKEK()
        #expect(vault.keyring.activeKEKVersion == 1)
        let tokens = try await vault.tokenize(
            TokenizeRequest(kind: .name, subject: "cust-after", values: ["Grace"]),
            caller: svc
        )
        let byKEK = try await vault.stats().dataKeysByKEK
        #expect(byKEK[2] == 1, "the new subject's key is wrapped by v2, not the demoted v1")
        #expect(byKEK[1] == 1)
        #expect(vault.keyring.activeKEKVersion == 2)
        try await vault.rewrap(caller: nil)
        let retired = try await vault.retireKEK(version: 1, uid: 0)
        #expect(try await vault.reloadKeyringIfChanged() == retired.generation)
        #expect(vault.keyring.kek(version: 1) == nil)
        let items = try await vault.detokenize(tokens, purpose: "view", caller: svc)
        #expect(items == [.value("Grace", .plain)])
        await store.close()
    }
}
