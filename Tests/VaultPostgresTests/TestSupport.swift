import Foundation
import Testing
import VaultCore
import VaultTestSupport

@testable import VaultPostgres

/// Runs `body` on a store created in a fresh test database, closing it and dropping the database afterwards.
@discardableResult
func withStore<T>(_ body: (PostgresStore, PostgresTestDatabase) async throws -> T) async throws -> T {
    try await PostgresTestDatabase.with { database in
        let store = try PostgresStore.create(try PostgresURL(database.uri))
        do {
            let result = try await body(store, database)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}

/// Holds the writer thread inside a write until `release()`, so the writes queued meanwhile are taken
/// together as the next group: grouping becomes deterministic without any sleep-based timing.
struct WriterGate: Sendable {
    private let gate: DispatchSemaphore
    private let task: Task<Void, any Error>

    init(_ store: PostgresStore) async {
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        self.gate = gate
        task = Task {
            try await store.write { _ in
                entered.signal()
                gate.wait()
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                entered.wait()
                continuation.resume()
            }.start()
        }
    }

    /// Waits until `count` writes are queued behind the gate, then lets the writer go on.
    func release(after count: Int, of store: PostgresStore) async throws {
        while store.queuedWrites < count { try await Task.sleep(for: .milliseconds(2)) }
        gate.signal()
        try await task.value
    }
}
