import VaultCore
import VaultStoreRuntime

/// The writer thread's connection as `GroupWriter` drives it. Each group is one transaction:
///
///     BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(writersLock); SAVEPOINT job
///     … RELEASE job; SAVEPOINT job      (between jobs; ROLLBACK TO job first for one that threw)
///     … RELEASE job
///     UPDATE token_ids …; COMMIT        (the update only if the group took token ids)
///
/// Each line is one round trip: the savepoints travel with the statements around them. A job's inserts (its
/// tokens, its audit record) are sent without waiting for their answers (libpq's pipeline mode), and read at
/// the job's end in one round trip that also moves the savepoint on (`settleJob`), so a job that writes costs
/// its reads plus one round trip, whatever it inserts.
///
/// The advisory lock is held to the end of the transaction, so the groups of every server on the database
/// run one at a time: the audit chain has one head, and what a group remembers (`GroupMemory`: head, last
/// seal, last token id) stays true until it commits. READ COMMITTED, because every statement after the lock
/// then sees every earlier group's commit (REPEATABLE READ would have taken its snapshot at the first
/// statement, the lock itself, and could fail a write with a serialization error instead); with all writers
/// serialized, there is nothing a stronger level would add.
///
/// `@unchecked Sendable` like `PostgresConnection`: handed once to the writer thread, used only there.
final class PostgresWriteConnection: GroupDatabase, @unchecked Sendable {
    /// The advisory lock every write group takes: "cvltWRIT". Any other program using advisory locks on the
    /// same database must stay clear of this key.
    static let writersLock: Int64 = 0x6376_6C74_5752_4954

    let db: PostgresConnection

    init(_ db: PostgresConnection) { self.db = db }

    /// A connection lost since the last group (a restarted server, a terminated backend) shows here, before
    /// anything of the group ran: `opening` reconnects and begins once more.
    func beginGroup() throws {
        savepointMoved = false
        do {
            try db.opening {
                try db.simple(
                    "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(\(Self.writersLock)); "
                        + "SAVEPOINT job",
                    what: "starting a write transaction"
                )
            }
        } catch {
            rollbackGroup()
            throw error
        }
    }

    func writer(remembering memory: GroupMemory) -> any StoreWriter { PostgresAccess(db: db, group: memory) }

    /// The job's statements sent without waiting are answered, and its savepoint released and the next one
    /// opened, in one round trip where that is safe (`PostgresConnection.settle(closingWith:)`); the release
    /// that follows then has nothing left to do. A savepoint so opened after a group's last job is committed
    /// with the group, as if released.
    func settleJob() throws {
        savepointMoved = try db.settle(closingWith: ["RELEASE job", "SAVEPOINT job"])
    }

    /// True when `settleJob` already released the job's savepoint and opened the next.
    private var savepointMoved = false

    func releaseSavepoint(openingNext: Bool) throws {
        if savepointMoved {
            savepointMoved = false
            return
        }
        try db.simple(openingNext ? "RELEASE job; SAVEPOINT job" : "RELEASE job", what: "keeping a write's changes")
    }

    func rollbackToSavepoint(openingNext: Bool) throws {
        // A job that threw before its end may have left statements unanswered: their answers are read and any
        // failure among them dropped (the job already failed with its own error, and the rollback undoes them).
        // A lost connection still shows, in the rollback itself.
        _ = try? db.settle()
        try db.simple(
            openingNext ? "ROLLBACK TO job; RELEASE job; SAVEPOINT job" : "ROLLBACK TO job; RELEASE job",
            what: "undoing a failed write"
        )
    }

    var inTransaction: Bool { db.inTransaction }

    var transactionLost: VaultError { db.transactionLost }

    var guardsTransaction: Bool {
        get { db.guardsTransaction }
        set { db.guardsTransaction = newValue }
    }

    /// Writes the token counter back and commits, in one round trip (the id is an integer, so it is safe in
    /// the statement's text). PostgreSQL answers COMMIT of a transaction in which a
    /// statement failed (and no savepoint undid it) with ROLLBACK and no error, so the transaction must be
    /// healthy first and the answer must be COMMIT; anything else fails the group. A connection lost during
    /// COMMIT fails it with `storeUnavailable`: the commit may or may not have happened, and no caller is told
    /// it did.
    func commitGroup(_ memory: GroupMemory) throws {
        guard db.transactionIsHealthy else { throw db.transactionLost }
        let counter = memory.lastTokenID.map {
            "UPDATE token_ids SET last_id = GREATEST(last_id, \($0)) WHERE id = 1; "
        }
        guard try db.simple((counter ?? "") + "COMMIT", what: "committing writes") == "COMMIT" else {
            throw db.transactionLost
        }
    }

    func rollbackGroup() {
        if db.inTransaction && db.isConnected { _ = try? db.simple("ROLLBACK", what: "rolling back a failed group") }
    }

    func groupCommitted(_ memory: GroupMemory) {}

    func close() { db.close() }
}
