import Foundation
import VaultCore

/// Reader workers: each a dedicated thread owning one connection, all fed by one queue.
///
/// Dedicated threads for the same reason as the writer: a read can block (disk, a busy WAL index, a network
/// round trip), and blocking the 2-thread cooperative pool would stall the whole server. Each backend's
/// reads see one consistent snapshot while the writer commits (SQLite's WAL, PostgreSQL's MVCC).
public final class ReaderPool<Connection: Sendable>: Sendable {
    public typealias Job = @Sendable (Connection) -> Void

    private let queue = JobQueue<Job>()
    private let finished: [Latch]

    /// Starts one thread per connection, named `<prefix><index>`; from then on each connection is used only by
    /// its thread. `close` runs on that thread after its last job.
    public init(
        connections: [Connection],
        threadPrefix: String = "cvault-reader",
        close: @escaping @Sendable (Connection) -> Void
    ) {
        finished = connections.map { _ in Latch() }
        for (index, connection) in connections.enumerated() {
            startStoreThread(named: "\(threadPrefix)\(index)") { [queue, finished] in
                // One job at a time: a worker holds its connection for exactly one job.
                while let jobs = queue.take(limit: 1) {
                    for job in jobs { job(connection) }
                }
                close(connection)
                finished[index].open()
            }
        }
    }

    /// Queues a job for the next free worker; false once the pool is closing.
    public func submit(_ job: @escaping Job) -> Bool { queue.enqueue(job) }

    /// Stops accepting jobs; queued ones still run, then every worker closes its connection and ends.
    public func close() { queue.close() }

    public func waitUntilFinished() async {
        for latch in finished { await latch.wait() }
    }
}

extension ReaderPool {
    /// Runs `body` on the next free worker with its connection and returns what it returned. Fails with
    /// `storeClosed` once the pool is closing.
    public func run<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let submitted = submit { db in continuation.resume(with: Result { try body(db) }) }
            if !submitted { continuation.resume(throwing: VaultError.storeClosed) }
        }
    }
}
