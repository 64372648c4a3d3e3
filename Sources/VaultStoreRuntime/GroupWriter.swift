import Synchronization
import VaultCore

/// What a `GroupWriter`'s thread needs of its database connection: a transaction per group with a
/// savepoint per job. Implemented by each backend's writer connection (SQLite's, PostgreSQL's); used only on
/// the writer thread.
public protocol GroupDatabase: AnyObject, Sendable {
    /// Opens the group's transaction, taking whatever lock makes it the only writer until it ends, and the
    /// first job's savepoint.
    func beginGroup() throws
    /// What the group's jobs receive, remembering within the group in `memory`.
    func writer(remembering memory: GroupMemory) -> any StoreWriter
    /// Reads the answers to every statement the job's writer sent without waiting (PostgreSQL's pipeline), and
    /// throws the first failure among them: run at the end of each job, inside it, so that failure is the
    /// job's own. Nothing to do where every statement is answered as it runs (SQLite).
    func settleJob() throws
    /// Keeps the job's changes (releases its savepoint) and, if `openingNext`, opens the next job's: in one
    /// round trip where the database allows.
    func releaseSavepoint(openingNext: Bool) throws
    /// Undoes the job's changes (back to its savepoint, which it then releases) and, if `openingNext`, opens
    /// the next job's.
    func rollbackToSavepoint(openingNext: Bool) throws
    /// False once the database ended the group's transaction by itself (an I/O error, a lost connection).
    var inTransaction: Bool { get }
    /// What the group's callers learn when the transaction ended by itself: `VaultError.groupLost`, or for a
    /// database behind a connection that is gone, that it cannot be reached (so a client knows to retry).
    var transactionLost: VaultError { get }
    /// Set while a job's closure runs: every statement then first checks that the group's transaction is
    /// still open. A closure that swallowed an error after the database rolled the transaction back must not
    /// go on writing outside it, where each statement would commit on its own.
    var guardsTransaction: Bool { get set }
    /// Commits the group; returns only once the commit is durable, and throws if it is not.
    func commitGroup(_ memory: GroupMemory) throws
    /// Rolls a failed group back (best effort: the error that failed it is what callers learn).
    func rollbackGroup()
    /// Runs after the group's callers were answered (background upkeep such as an index merge).
    func groupCommitted(_ memory: GroupMemory)
    /// Closes the connection; the writer thread's last act.
    func close()
}

/// What the writer thread runs.
public enum WriterItem<Database>: Sendable {
    case write(any WriteJob)
    /// Work that must run outside any transaction, between groups (a checkpoint, a vacuum).
    case maintenance(@Sendable (Database) -> Void)
}

/// The single writer: a dedicated thread that owns the write connection and commits queued writes in
/// groups, one durable commit per group.
///
/// A thread of its own, not a task: the database blocks (fsync, lock waits, round trips), and Swift's
/// cooperative pool has only as many threads as cores (2 here), so a blocked writer there would stall every
/// other task.
public final class GroupWriter<Database: GroupDatabase>: Sendable {
    /// The most jobs committed together. A bound keeps one group's latency, and the time the write lock is
    /// held against other writers, small; 512 single-row jobs take a few milliseconds.
    public static var maxGroup: Int { 512 }

    private let queue = JobQueue<WriterItem<Database>>()
    private let finished = Latch()
    private let commits = Atomic<Int>(0)
    /// True while the thread runs a batch of items (between taking them and finishing the last).
    private let working = Atomic<Bool>(false)

    /// Starts the thread. From here on only that thread uses `database`.
    public init(database: Database, threadName: String = "cvault-writer") {
        startStoreThread(named: threadName) { [self] in
            let committer = GroupCommitter(db: database) { self.commits.add(1, ordering: .relaxed) }
            while let items = queue.take(limit: Self.maxGroup) {
                working.store(true, ordering: .relaxed)
                committer.runAll(items)
                working.store(false, ordering: .relaxed)
            }
            database.close()
            finished.open()
        }
    }

    /// Queues an item; false once the writer is closing.
    public func submit(_ item: WriterItem<Database>) -> Bool { queue.enqueue(item) }

    /// Stops accepting work; queued work still runs, then the thread closes the connection and ends.
    public func close() { queue.close() }

    public func waitUntilFinished() async { await finished.wait() }

    /// Groups committed so far (tests check that concurrent writes share commits).
    public var commitCount: Int { commits.load(ordering: .relaxed) }

    /// Items queued and not yet taken by the thread.
    public var queuedCount: Int { queue.count }

    /// Whether the thread is waiting for work with nothing queued. A hint: it may change at once.
    public var isIdle: Bool { !working.load(ordering: .relaxed) && queue.count == 0 }
}

/// The writer thread's loop body. Lives only on that thread.
private struct GroupCommitter<Database: GroupDatabase> {
    let db: Database
    let committed: () -> Void

    /// Runs items in queue order: consecutive writes form one group; maintenance runs between groups.
    func runAll(_ items: [WriterItem<Database>]) {
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

    /// One transaction for the whole group, one savepoint per job (the first opened with the transaction, each
    /// next one with the release of the one before). Callers are resumed only after the commit returned (the
    /// group is durable), or with the error that lost the group.
    private func commit(_ jobs: [any WriteJob]) {
        guard !jobs.isEmpty else { return }
        do {
            try db.beginGroup()
        } catch {
            for job in jobs { job.fail(error) }
            return
        }
        let memory = GroupMemory()
        let access = db.writer(remembering: memory)
        var kept: [any WriteJob] = []
        var next = 0
        do {
            while next < jobs.count {
                let job = jobs[next]
                next += 1
                let more = next < jobs.count
                db.guardsTransaction = true
                let ran = job.run(access, settling: db.settleJob)
                db.guardsTransaction = false
                if ran {
                    // Recorded before the release, so a failing release still reaches this caller below.
                    kept.append(job)
                    try db.releaseSavepoint(openingNext: more)
                } else {
                    // The caller has learnt its own error; its changes go, the group's stay.
                    if !db.inTransaction { throw db.transactionLost }
                    memory.forgetAudit()  // the job's appends to the chain are undone with it
                    try db.rollbackToSavepoint(openingNext: more)
                }
            }
            try db.commitGroup(memory)
        } catch {
            db.guardsTransaction = false
            db.rollbackGroup()
            for job in kept { job.finish(error) }
            for job in jobs[next...] { job.fail(error) }
            return
        }
        committed()
        for job in kept { job.finish(nil) }
        db.groupCommitted(memory)
    }
}

extension VaultError {
    /// The database rolled the whole transaction back by itself (disk full, I/O error) while a job ran.
    public static let groupLost = VaultError(
        .storage,
        "the write was lost: the database rolled back its transaction after an error",
        hint: "check the disk (space, errors), then retry the request"
    )

    /// Every call after `close()`.
    public static let storeClosed = VaultError(
        .storage,
        "store is closed",
        hint: "open the store again; this is a bug if it happens while serving"
    )
}

extension GroupWriter {
    /// Queues `work` as one write job and returns its value once its group has committed (or throws the
    /// job's own error, or the group's). Fails with `storeClosed` once the writer is closing.
    public func write<T: Sendable>(_ work: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let job = StoreWrite(work, continuation: continuation)
            if !submit(.write(job)) { job.fail(VaultError.storeClosed) }
        }
    }

    /// Runs `body` on the writer thread, between groups and outside any transaction.
    public func maintain<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let submitted = submit(.maintenance { db in continuation.resume(with: Result { try body(db) }) })
            if !submitted { continuation.resume(throwing: VaultError.storeClosed) }
        }
    }
}
