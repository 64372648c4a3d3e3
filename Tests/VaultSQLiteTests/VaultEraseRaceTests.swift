import Foundation
import Logging
import Synchronization
import Testing
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

        init(_ base: SQLiteStore, between: @escaping @Sendable () async throws -> Void) {
            self.base = base
            self.between = Mutex(between)
        }

        func write<T: Sendable>(_ work: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
            try await base.write(work)
        }

        func writeAndScrub<T: Sendable>(_ work: @escaping @Sendable (any StoreWriter) throws -> T) async throws
            -> (value: T, scrubbed: Bool) {
            try await base.writeAndScrub(work)
        }

        func read<T: Sendable>(_ work: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
            try await base.read(work)
        }

        func readThenWrite<R: Sendable, T: Sendable>(
            items: Int, read: @escaping @Sendable (any StoreReader) throws -> R,
            write: @escaping @Sendable (any StoreWriter, R, ReadSnapshot) throws -> T
        ) async throws -> T {
            let found = try await base.read(read)
            if let hook = between.withLock({ hook -> (@Sendable () async throws -> Void)? in
                defer { hook = nil }
                return hook
            }) {
                try await hook()
            }
            return try await base.write { writer in try write(writer, found, .earlier) }
        }

        func close() async {}
    }

    @Test func aValueErasedBetweenTheLookUpAndTheRecordIsNotRevealed() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            let kept = try await t.tokenize(.text, ["stays"], subject: "cust-keep", as: svc)
            let erased = try await t.tokenize(.text, ["goes away"], subject: "cust-gone", as: svc)
            let vault = t.vault
            let racing = EraseBetweenStore(t.store) {
                let erased = try await vault.erase(subject: "cust-gone", caller: svc)
                #expect(erased == 1)
            }
            let raced = Vault(keyring: t.keyring, store: racing, policies: t.policies, clock: t.clock.vaultClock)
            let items = try await raced.detokenize(erased + kept, purpose: "view", caller: svc)
            expectItems(items, [.error(.notFound), .value("stays", .plain)])

            let last = try await t.auditRows().compactMap { AuditEvent.decode($0.body) }.last { $0.event == "detokenize" }
            #expect(last?.items?.map(\.decision) == ["not_found", "plain"], "the audit record says what was answered")
        }
    }
}
