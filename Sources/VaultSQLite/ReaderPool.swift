import Foundation

/// Reader workers: each a dedicated thread owning one read-only connection, all fed by one queue.
///
/// Dedicated threads for the same reason as the writer: a read can block (disk, a busy WAL index), and
/// blocking the 2-thread cooperative pool would stall the whole server. WAL lets every reader see a
/// consistent snapshot while the writer commits.
final class ReaderPool: Sendable {
    typealias Job = @Sendable (SQLiteConnection) -> Void

    private let queue = JobQueue<Job>()
    private let finished: [Latch]

    /// Starts one thread per connection; from then on each connection is used only by its thread.
    init(connections: [SQLiteConnection]) {
        finished = connections.map { _ in Latch() }
        for (index, connection) in connections.enumerated() {
            startStoreThread(named: "cvault-reader\(index)") { [queue, finished] in
                // One job at a time: a worker holds its connection for exactly one job.
                while let jobs = queue.take(limit: 1) {
                    for job in jobs { job(connection) }
                }
                connection.close()
                finished[index].open()
            }
        }
    }

    /// Queues a job for the next free worker; false once the pool is closing.
    func submit(_ job: @escaping Job) -> Bool { queue.enqueue(job) }

    /// Stops accepting jobs; queued ones still run, then every worker closes its connection and ends.
    func close() { queue.close() }

    func waitUntilFinished() async {
        for latch in finished { await latch.wait() }
    }
}
