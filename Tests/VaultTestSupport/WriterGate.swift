import Foundation
import VaultCore

/// A store that commits queued writes in groups and says how many wait (each backend's tests conform it).
public protocol GroupCommittingStore: VaultStore {
    /// Writes queued and not yet taken by the writer thread.
    var queuedWrites: Int { get }
}

/// Holds the writer thread inside a write until `release()`, so the writes queued meanwhile are taken
/// together as the next group: grouping becomes deterministic without any sleep-based timing.
public struct WriterGate: Sendable {
    private let gate: DispatchSemaphore
    private let task: Task<Void, any Error>

    public init(_ store: some GroupCommittingStore) async {
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
    public func release(after count: Int, of store: some GroupCommittingStore) async throws {
        while store.queuedWrites < count { try await Task.sleep(for: .milliseconds(2)) }
        gate.signal()
        try await task.value
    }
}
