import Foundation
import Logging
import Synchronization
import Testing
import VaultTestSupport

@testable import VaultCore
@testable import VaultSQLite

/// A detokenize whose look-ups ran on an earlier snapshot than its write must not reveal a value erased in
/// between: the erase has answered, so the value is gone for good.
@Suite struct VaultEraseRaceTests {
    /// A SQLite store whose `readThenWrite` always reads on a reader first, then runs `between` (once), then
    /// writes: the race made deterministic.
    final class EraseBetweenStore: VaultStore {
        let base: SQLiteStore
        let between: Mutex<(@Sendable () async throws -> Void)?>
        var sharedByProcesses: Bool { base.sharedByProcesses }

        init(_ base: SQLiteStore, between: @escaping @Sendable () async throws -> Void) {
            self.base = base
            self.between = Mutex(between)
        }

        func write<T: Sendable>(_ work: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
            try await base.write(work)
        }

        func writeAndScrub<T: Sendable>(
            _ work: @escaping @Sendable (any StoreWriter) throws -> T
        ) async throws
            -> (value: T, scrubbed: Bool)
        {
            try await base.writeAndScrub(work)
        }

        func read<T: Sendable>(_ work: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
            try await base.read(work)
        }

        func readThenWrite<R: Sendable, T: Sendable>(
            items: Int,
            read: @escaping @Sendable (any StoreReader) throws -> R,
            write: @escaping @Sendable (any StoreWriter, R, ReadSnapshot) throws -> T
        ) async throws -> T {
            let found = try await base.read(read)
            if let hook = between.withLock({ hook -> (@Sendable () async throws -> Void)? in
                defer { hook = nil }
                return hook
            }) {
                try await hook()
            }
            return try await base.write { writer in try write(writer, found, .changedSince) }
        }

        func close() async {}
    }

    @Test func aValueErasedBetweenTheLookUpAndTheRecordIsNotRevealed() async throws {
        try await withVault(serviceYAML(), on: .sqlite) { t in
            let svc = try t.caller(UID.service)
            let kept = try await t.tokenize(.text, ["stays"], subject: "cust-keep", as: svc)
            let erased = try await t.tokenize(.text, ["goes away"], subject: "cust-gone", as: svc)
            let vault = t.vault
            let racing = EraseBetweenStore(try t.sqliteStore()) {
                let erased = try await vault.erase(subject: "cust-gone", caller: svc).erased
                #expect(erased == 1)
            }
            let raced = Vault(keyring: t.keyring, store: racing, policies: t.policies, clock: t.clock.vaultClock)
            let items = try await raced.detokenize(erased + kept, purpose: "view", caller: svc)
            expectItems(items, [.error(.notFound), .value("stays", .plain)])

            let last = try await t.auditRows().compactMap { AuditEvent.decode($0.body) }.last {
                $0.event == .detokenize
            }
            #expect(last?.items?.map(\.decision) == [.notFound, .plain], "the audit record says what was answered")
        }
    }
}

/// An erase that commits while another connection holds an older snapshot cannot scrub the WAL: it says so
/// (committed, not yet scrubbed), and the same erase once that reader is gone scrubs and answers 0.
@Suite struct VaultEraseScrubTests {
    /// Every 16-byte window of `secret` searched in every file of `folder`.
    static func anyFileHolds(_ secret: [UInt8], in folder: String) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.contains { name in
            guard let data = FileManager.default.contents(atPath: folder + "/" + name) else { return false }
            return (0...(secret.count - 16)).contains { data.range(of: Data(secret[$0..<($0 + 16)])) != nil }
        }
    }

    @Test func anEraseBlockedByAnOldSnapshotSaysItIsNotYetScrubbed() async throws {
        try await withVault(serviceYAML(), on: .sqlite) { t in
            let svc = try t.caller(UID.service)
            _ = try await t.tokenize(.text, ["to be erased"], subject: "cust-gone", as: svc)
            let wrapped = try #require(try await t.store.read { try $0.subject(named: "cust-gone") }).wrappedKey
            // Another program's read, opened before the erase and still open after it.
            let reader = try SQLiteConnection(path: t.databasePath)
            defer { reader.close() }
            try reader.execute("BEGIN", what: "test")
            _ = try reader.queryOne("SELECT count(*) FROM tokens", what: "test") { $0.int(0) }

            let error = await vaultError { _ = try await t.vault.erase(subject: "cust-gone", caller: svc) }
            #expect(error?.code == .storage)
            #expect(error?.isNotScrubbed == true)
            #expect(try await t.stats() == Counts(subjects: 0, tokens: 0), "the erase is committed")
            let heldBack = Self.anyFileHolds(wrapped, in: t.folder + "/data")
            #expect(heldBack, "the old snapshot's pages are still in the WAL")

            try reader.execute("COMMIT", what: "test")
            #expect(
                try await t.vault.erase(subject: "cust-gone", caller: svc).erased == 0,
                "the same erase again scrubs"
            )
            let remains = Self.anyFileHolds(wrapped, in: t.folder + "/data")
            #expect(!remains, "the wrapped key is still in a file after the scrub")
        }
    }
}
