import Dispatch
import Synchronization
import VaultCore

/// A `VaultStore` held in memory: the twin of the SQLite store for the domain's tests, and the reference the
/// store conformance suite (`StoreConformance`) is checked against. Written to be obviously correct, not
/// fast: the committed rows are one value (`InMemoryRows`); a write runs on a copy of it and publishes the
/// copy only if its closure returned, one write at a time, so every write is its own transaction, callers
/// never see each other's rolled-back changes, and a read is simply the value as it was when it started.
///
/// Closures run on the store's own dispatch queues (one serial queue for writes, one concurrent queue for
/// reads), never on Swift's cooperative pool, as the contract requires: they may block.
/// Nothing is on disk, so `writeAndScrub` always answers `scrubbed: true`.
public final class InMemoryVaultStore: VaultStore {
    private struct State {
        var rows = InMemoryRows()
        var closed = false
    }

    private let state = Mutex(State())
    private let writes = DispatchQueue(label: "cvault-memory-writer")
    private let reads = DispatchQueue(label: "cvault-memory-reader", attributes: .concurrent)

    /// Whether the vault should treat this store as shared by several processes (`VaultStore`): false, as
    /// for SQLite, unless a test asks for true, so that several `Vault`s on one store stand in for several
    /// servers on one database and keep their budgets in it.
    public let sharedByProcesses: Bool

    public init(sharedByProcesses: Bool = false) { self.sharedByProcesses = sharedByProcesses }

    public func write<T: Sendable>(_ work: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        try await transaction { try work($0) }
    }

    public func writeAndScrub<T: Sendable>(
        _ work: @escaping @Sendable (any StoreWriter) throws -> T
    ) async throws
        -> (value: T, scrubbed: Bool)
    {
        // Deleted rows are gone with the copy that held them: there is no file to scrub.
        (try await write(work), true)
    }

    public func read<T: Sendable>(_ work: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        try await submit(to: reads) { [self] in try work(self.state.withLock { $0.rows }) }
    }

    /// The read on a snapshot first (so a long read holds no write back), then the write. The erase count read
    /// with the snapshot and again in the write says whether a subject was erased in between.
    public func readThenWrite<R: Sendable, T: Sendable>(
        items: Int,
        read: @escaping @Sendable (any StoreReader) throws -> R,
        write: @escaping @Sendable (any StoreWriter, R, ReadSnapshot) throws -> T
    ) async throws -> T {
        let (found, changes) = try await submit(to: reads) { [self] in
            let rows = self.state.withLock { $0.rows }
            return (try read(rows), rows.changes)
        }
        return try await transaction { writer in
            try write(writer, found, writer.rows.changes == changes ? .current : .changedSince)
        }
    }

    /// Queued writes and reads finish first; every call after this one fails.
    public func close() async {
        state.withLock { $0.closed = true }
        for queue in [writes, reads] {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                queue.async(flags: .barrier) { done.resume() }
            }
        }
    }

    /// Runs `work` on the writer queue against a copy of the rows, and keeps the copy only if `work` returned.
    private func transaction<T: Sendable>(
        _ work: @escaping @Sendable (InMemoryTransaction) throws -> T
    ) async throws -> T {
        try await submit(to: writes) { [self] in
            let transaction = InMemoryTransaction(rows: self.state.withLock { $0.rows })
            let value = try work(transaction)
            self.state.withLock { $0.rows = transaction.rows }
            return value
        }
    }

    /// Queues `body` unless the store is closed. Checked and queued under the lock `close` takes, so nothing
    /// can be queued after `close` started waiting.
    private func submit<T: Sendable>(
        to queue: DispatchQueue,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let queued = state.withLock { state -> Bool in
                guard !state.closed else { return false }
                queue.async { continuation.resume(with: Result { try body() }) }
                return true
            }
            if !queued { continuation.resume(throwing: InMemoryRows.closedError) }
        }
    }
}
