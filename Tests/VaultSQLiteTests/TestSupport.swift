import Foundation
import Testing
import VaultCore
import VaultTestSupport

@testable import VaultSQLite

/// Runs `body` on a newly created store, closing it afterwards.
@discardableResult
func withStore<T>(_ body: (SQLiteStore, String) async throws -> T) async throws -> T {
    try await withTemporaryFolder { folder in
        let path = folder + "/vault.db"
        let store = try SQLiteStore.create(at: path)
        do {
            let result = try await body(store, path)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}

func fileContains(_ path: String, _ needle: [UInt8]) -> Bool {
    guard let data = FileManager.default.contents(atPath: path) else { return false }
    return data.range(of: Data(needle)) != nil
}

/// Holds the writer thread inside a write until `release()`, so the writes queued meanwhile are taken
/// together as the next group: grouping becomes deterministic without any sleep-based timing.
struct WriterGate: Sendable {
    private let gate: DispatchSemaphore
    private let task: Task<Void, any Error>

    init(_ store: SQLiteStore) async {
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        self.gate = gate
        task = Task {
            try await store.write { _ in
                entered.signal()
                gate.wait()
            }
        }
        // Wait (off the cooperative pool's critical path: the writer thread signals) until the writer is held.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                entered.wait()
                continuation.resume()
            }.start()
        }
    }

    /// Waits until `count` writes are queued behind the gate, then lets the writer go on.
    func release(after count: Int, of store: SQLiteStore) async throws {
        while store.queuedWrites < count { try await Task.sleep(for: .milliseconds(2)) }
        gate.signal()
        try await task.value
    }
}
