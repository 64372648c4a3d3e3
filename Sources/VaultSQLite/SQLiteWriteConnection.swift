import VaultCore
import VaultStoreRuntime

/// The writer thread's connection as `GroupWriter` drives it: BEGIN IMMEDIATE per group, a savepoint per job,
/// and the subject index's merge once enough entries are pending (`SubjectIndex`).
///
/// `@unchecked Sendable` like `SQLiteConnection`: handed once to the writer thread, used only there.
final class SQLiteWriteConnection: GroupDatabase, @unchecked Sendable {
    /// How many times a group retries BEGIN when another process keeps the write lock past busy_timeout.
    static let beginAttempts = 3

    let db: SQLiteConnection
    /// Subject-index entries left pending since the last merge (`SubjectIndex`).
    private var pendingIndexEntries = 0

    init(_ db: SQLiteConnection) { self.db = db }

    /// BEGIN IMMEDIATE takes the write lock at once, so no job in the group can hit SQLITE_BUSY half-way.
    /// busy_timeout already waits 5 s for another process's lock; past that, try again a couple of times
    /// before failing the group (a CLI command rarely holds the lock that long).
    func beginGroup() throws {
        var attempt = 1
        while true {
            do {
                try db.execute("BEGIN IMMEDIATE", what: "starting a write transaction")
                break
            } catch  where db.lastErrorWasBusy && attempt < Self.beginAttempts {
                attempt += 1
            }
        }
        try openSavepoint()
    }

    func writer(remembering memory: GroupMemory) -> any StoreWriter { SQLiteAccess(db: db, group: memory) }

    private func openSavepoint() throws { try db.execute("SAVEPOINT job", what: "opening a write's savepoint") }

    func settleJob() {}

    func releaseSavepoint(openingNext: Bool) throws {
        try db.execute("RELEASE job", what: "keeping a write's changes")
        if openingNext { try openSavepoint() }
    }

    func rollbackToSavepoint(openingNext: Bool) throws {
        try db.execute("ROLLBACK TO job", what: "undoing a failed write")
        try db.execute("RELEASE job", what: "closing a failed write's savepoint")
        if openingNext { try openSavepoint() }
    }

    /// SQLite rolls a transaction back on its own after some errors (disk full, I/O error).
    var inTransaction: Bool { !db.isAutocommit }
    var transactionLost: VaultError { VaultError.groupLost }

    var guardsTransaction: Bool {
        get { db.guardsTransaction }
        set { db.guardsTransaction = newValue }
    }

    func commitGroup(_ memory: GroupMemory) throws { try db.execute("COMMIT", what: "committing writes") }

    func rollbackGroup() {
        if !db.isAutocommit { try? db.execute("ROLLBACK", what: "rolling back a failed group") }
    }

    func groupCommitted(_ memory: GroupMemory) {
        pendingIndexEntries += memory.subjectIndexEntries
        if pendingIndexEntries >= SubjectIndex.mergeEvery {
            // After the callers are answered; a failure leaves the entries pending for the next try.
            pendingIndexEntries = (try? SubjectIndex.merge(db)) == nil ? SubjectIndex.mergeEvery / 2 : 0
        }
    }

    func close() { db.close() }
}
