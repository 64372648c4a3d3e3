import Foundation
import Synchronization
import VaultCore

/// What the writer thread runs.
enum WriterItem: Sendable {
    case write(any WriteJob)
    /// Work that must run outside any transaction, between groups (a checkpoint).
    case maintenance(@Sendable (SQLiteConnection) -> Void)
}

/// The single writer: a dedicated thread that owns the write connection and commits queued writes in
/// groups, one fsync per group.
///
/// A thread of its own, not a task: SQLite blocks (fsync, busy waits), and Swift's cooperative pool has
/// only as many threads as cores (2 here), so a blocked writer there would stall every other task.
final class Writer: Sendable {
    /// The most jobs committed together. A bound keeps one group's latency, and the time the write lock is
    /// held against other processes, small; 512 single-row jobs take a few milliseconds.
    static let maxGroup = 512
    /// How many times a group retries BEGIN when another process keeps the write lock past busy_timeout.
    static let beginAttempts = 3

    private let queue = JobQueue<WriterItem>()
    private let finished = Latch()
    private let commits = Atomic<Int>(0)
    /// True while the thread runs a batch of items (between taking them and finishing the last).
    private let working = Atomic<Bool>(false)

    /// Starts the thread. From here on only that thread uses `connection`.
    init(connection: SQLiteConnection) {
        startStoreThread(named: "cvault-writer") { [self] in
            let committer = GroupCommitter(db: connection) { self.commits.add(1, ordering: .relaxed) }
            while let items = queue.take(limit: Self.maxGroup) {
                working.store(true, ordering: .relaxed)
                committer.runAll(items)
                working.store(false, ordering: .relaxed)
            }
            connection.close()
            finished.open()
        }
    }

    /// Queues an item; false once the writer is closing.
    func submit(_ item: WriterItem) -> Bool { queue.enqueue(item) }

    /// Stops accepting work; queued work still runs, then the thread closes the connection and ends.
    func close() { queue.close() }

    func waitUntilFinished() async { await finished.wait() }

    /// Groups committed so far (tests check that concurrent writes share commits).
    var commitCount: Int { commits.load(ordering: .relaxed) }

    /// Items queued and not yet taken by the thread.
    var queuedCount: Int { queue.count }

    /// Whether the thread is waiting for work with nothing queued. A hint: it may change at once.
    var isIdle: Bool { !working.load(ordering: .relaxed) && queue.count == 0 }
}

/// The writer thread's loop body. Lives only on that thread.
private struct GroupCommitter {
    let db: SQLiteConnection
    let committed: () -> Void
    /// Subject-index entries left pending since the last merge (`SubjectIndex`).
    private let pendingIndex = PendingCount()

    final class PendingCount {
        var entries = 0
    }

    /// Runs items in queue order: consecutive writes form one group; maintenance runs between groups.
    func runAll(_ items: [WriterItem]) {
        var group: [any WriteJob] = []
        for item in items {
            switch item {
            case .write(let job):
                group.append(job)
            case .maintenance(let task):
                commit(group)
                group = []
                task(db)
            }
        }
        commit(group)
    }

    /// One transaction for the whole group, one savepoint per job. Callers are resumed only after COMMIT
    /// returned (the group is durable), or with the error that lost the group.
    private func commit(_ jobs: [any WriteJob]) {
        guard !jobs.isEmpty else { return }
        do {
            try begin()
        } catch {
            for job in jobs { job.fail(error) }
            return
        }
        let memory = GroupMemory()
        let access = SQLiteAccess(db: db, group: memory)
        var kept: [any WriteJob] = []
        var next = 0
        do {
            while next < jobs.count {
                let job = jobs[next]
                next += 1
                try db.execute("SAVEPOINT job", what: "opening a write's savepoint")
                db.guardsTransaction = true
                let ran = job.run(access)
                db.guardsTransaction = false
                if ran {
                    // Recorded before RELEASE, so a failing RELEASE still reaches this caller below.
                    kept.append(job)
                    try db.execute("RELEASE job", what: "keeping a write's changes")
                } else {
                    // The caller has learnt its own error; its changes go, the group's stay.
                    if db.isAutocommit { throw VaultError.groupLost }
                    memory.forgetAudit()  // the job's appends to the chain are undone with it
                    try db.execute("ROLLBACK TO job", what: "undoing a failed write")
                    try db.execute("RELEASE job", what: "closing a failed write's savepoint")
                }
            }
            try db.execute("COMMIT", what: "committing writes")
        } catch {
            db.guardsTransaction = false
            if !db.isAutocommit { try? db.execute("ROLLBACK", what: "rolling back a failed group") }
            for job in kept { job.finish(error) }
            for job in jobs[next...] { job.fail(error) }
            return
        }
        committed()
        for job in kept { job.finish(nil) }
        pendingIndex.entries += memory.subjectIndexEntries
        if pendingIndex.entries >= SubjectIndex.mergeEvery {
            // After the callers are answered; a failure leaves the entries pending for the next try.
            pendingIndex.entries = (try? SubjectIndex.merge(db)) == nil ? SubjectIndex.mergeEvery / 2 : 0
        }
    }

    /// BEGIN IMMEDIATE takes the write lock at once, so no job in the group can hit SQLITE_BUSY half-way.
    /// busy_timeout already waits 5 s for another process's lock; past that, try again a couple of times
    /// before failing the group (a CLI command rarely holds the lock that long).
    private func begin() throws {
        var attempt = 1
        while true {
            do {
                try db.execute("BEGIN IMMEDIATE", what: "starting a write transaction")
                return
            } catch  where db.lastErrorWasBusy && attempt < Writer.beginAttempts {
                attempt += 1
            }
        }
    }
}

extension VaultError {
    /// SQLite rolled the whole transaction back by itself (disk full, I/O error) while a job ran.
    static let groupLost = VaultError(
        .storage,
        "the write was lost: the database rolled back its transaction after an error",
        hint: "check the disk (space, errors), then retry the request"
    )
}
