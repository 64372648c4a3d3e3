import CSQLite
import VaultCore
import VaultStoreRuntime

/// One SQLite connection: owns the `sqlite3*` handle, caches its prepared statements, and turns SQLite's
/// result codes into `VaultError`s. With `Statement.swift`, the only file that calls SQLite's C API.
///
/// `@unchecked Sendable` because the handle is not thread-safe and SQLite is opened with
/// `SQLITE_OPEN_NOMUTEX` (no per-call mutex: it would only cost). Access is serialized by confinement
/// instead: a connection is created and configured on the opening thread, then handed once to exactly one
/// store thread (the writer or one reader worker) before that thread starts, and from then on only that
/// thread touches it, up to and including `close()`. `Thread.start()` orders the hand-over.
final class SQLiteConnection: @unchecked Sendable {
    /// The database file, for error messages (a path is a public fact).
    let path: String
    private var handle: OpaquePointer?
    /// Prepared statements by SQL text: the store runs a few dozen fixed statements many times.
    private var cache: [String: Statement] = [:]

    /// Opens `path`. `create` allows SQLite to create the file (only for backups, whose file the caller has
    /// just made; the store itself creates its file with `open(2)` first, to fix its mode).
    init(path: String, create: Bool = false) throws {
        self.path = path
        var db: OpaquePointer?
        var flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        if create { flags |= SQLITE_OPEN_CREATE }
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            // SQLite may hand back a handle even when opening fails; it must still be closed.
            let detail = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw Self.storageError(code: rc, what: "opening database \(path) failed", detail: detail)
        }
        handle = db
        // Extended codes tell SQLITE_BUSY_RECOVERY or SQLITE_IOERR_FSYNC apart in messages.
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// Finalizes every cached statement, then closes the handle. Idempotent.
    func close() {
        cache.removeAll()  // each Statement finalizes itself in deinit
        // close_v2 never fails for open statements: it defers the close until they are finalized.
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Sets the busy handler's wait: how long a statement waits for another connection's lock (another
    /// process, such as the CLI) before failing with SQLITE_BUSY.
    func setBusyTimeout(milliseconds: Int32) throws {
        let db = try open()
        let rc = sqlite3_busy_timeout(db, milliseconds)
        guard rc == SQLITE_OK else { throw error(rc, "setting the busy timeout") }
    }

    /// Set by the writer while a job's closure runs: every statement then first checks that the group's
    /// transaction is still open. After some errors (disk full, I/O) SQLite rolls the transaction back by
    /// itself; a closure that swallowed that error must not go on writing in autocommit mode, where each
    /// statement would commit on its own, outside the group and before its caller is told anything.
    var guardsTransaction = false

    /// Whether the last failed call failed because another connection held a lock.
    var lastErrorWasBusy: Bool { handle.map { sqlite3_errcode($0) & 0xff == SQLITE_BUSY } ?? false }

    /// The cached statement for `sql`, prepared on first use.
    func statement(_ sql: String) throws -> Statement {
        let db = try open()
        if guardsTransaction && sqlite3_get_autocommit(db) != 0 { throw VaultError.groupLost }
        if let cached = cache[sql] { return cached }
        var stmt: OpaquePointer?
        // PERSISTENT: the statement lives for the connection's life, so SQLite may allocate it accordingly.
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            sqlite3_finalize(stmt)
            throw error(rc, "preparing a statement")
        }
        let statement = Statement(stmt)
        cache[sql] = statement
        return statement
    }

    /// Finalizes every cached statement: for statements that ran once (setup, migrations).
    func forgetStatements() { cache.removeAll() }

    /// Rows changed by the last INSERT, UPDATE or DELETE (not counting foreign-key cascades).
    var changes: Int { handle.map { Int(sqlite3_changes64($0)) } ?? 0 }

    /// False while a transaction is open. SQLite rolls a transaction back on its own after some errors
    /// (disk full, I/O error), which the writer must notice.
    var isAutocommit: Bool { handle.map { sqlite3_get_autocommit($0) != 0 } ?? true }

    /// Copies this whole database into `destination` with SQLite's online backup API, in one step, so the
    /// copy is one consistent snapshot even while other connections write.
    func backup(into destination: SQLiteConnection) throws {
        let source = try open()
        let target = try destination.open()
        guard let backup = sqlite3_backup_init(target, "main", source, "main") else {
            throw destination.error(sqlite3_errcode(target), "starting the backup")
        }
        let stepped = sqlite3_backup_step(backup, -1)
        // finish releases the backup's resources whatever happened; its code repeats any step error.
        let finished = sqlite3_backup_finish(backup)
        guard stepped == SQLITE_DONE else {
            throw Self.storageError(
                code: stepped,
                what: "copying the database into backup \(destination.path) failed",
                detail: String(cString: sqlite3_errstr(stepped))
            )
        }
        guard finished == SQLITE_OK else { throw destination.error(finished, "finishing the backup") }
    }

    /// Tells `observer` the WAL's length after every commit on this connection, and runs the checkpoint it asks
    /// for right there. Replaces SQLite's automatic checkpoint on this connection.
    func observeWAL(_ observer: any WALObserver) {
        guard let db = handle else { return }  // a closed connection commits nothing
        let box = WALObserverBox(observer)
        walObserver = box  // the connection keeps the box alive as long as SQLite may call it
        sqlite3_wal_hook(
            db,
            { context, db, _, frames in
                guard let context else { return SQLITE_OK }
                let observer = Unmanaged<WALObserverBox>.fromOpaque(context).takeUnretainedValue().observer
                guard let mode = observer.walGrew(to: Int(frames)) else { return SQLITE_OK }
                var walFrames: Int32 = 0
                var copied: Int32 = 0
                // Errors are not the commit's: its frames are already written. Any I/O error shows on the next one.
                if sqlite3_wal_checkpoint_v2(db, nil, mode.sqlite, &walFrames, &copied) == SQLITE_OK {
                    observer.checkpointed(walFrames: Int(walFrames), copied: Int(copied))
                }
                return SQLITE_OK
            },
            Unmanaged.passUnretained(box).toOpaque()
        )
    }

    private var walObserver: WALObserverBox?

    enum CheckpointMode {
        /// Copies what it can without waiting for any lock: never holds up the writer or a reader.
        case passive
        /// Waits for readers of old frames, then lets the next writer start the WAL over. New writers wait
        /// meanwhile (busy timeout).
        case restart

        var sqlite: Int32 { self == .passive ? SQLITE_CHECKPOINT_PASSIVE : SQLITE_CHECKPOINT_RESTART }
    }

    /// A TRUNCATE checkpoint: waits (busy timeout) for other checkpoints and for readers of old frames, copies
    /// every frame into the database file and truncates the WAL to zero bytes, so no old copy of any page is
    /// left in it. True once done; false if a lock held past the busy timeout stopped it (frames copied so far
    /// stay copied).
    func checkpointTruncating() throws -> Bool {
        let db = try open()
        var walFrames: Int32 = 0
        var copied: Int32 = 0
        let rc = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_TRUNCATE, &walFrames, &copied)
        if rc & 0xff == SQLITE_BUSY { return false }
        guard rc == SQLITE_OK else { throw error(rc, "checkpointing the WAL") }
        return true
    }

    /// Copies WAL frames into the database file. Returns the frames in the WAL and how many of them are now
    /// in the database file; a checkpoint that could not finish (another connection's lock) is not an error.
    func checkpoint(_ mode: CheckpointMode) throws -> (walFrames: Int, copied: Int) {
        let db = try open()
        var walFrames: Int32 = 0
        var copied: Int32 = 0
        let rc = sqlite3_wal_checkpoint_v2(db, nil, mode.sqlite, &walFrames, &copied)
        guard rc == SQLITE_OK || rc & 0xff == SQLITE_BUSY else { throw error(rc, "checkpointing the WAL") }
        return (Int(walFrames), Int(copied))
    }

    /// The handle, or `.storage` if this connection was closed (the store then is closed too).
    private func open() throws -> OpaquePointer {
        guard let handle else { throw VaultError.storeClosed }
        return handle
    }

    /// The error for a failed call on this connection: `what` says what was being done. SQLite's own
    /// message names tables, columns and constraints but never a bound value, so it is safe to include.
    func error(_ code: Int32, _ what: String) -> VaultError {
        let detail = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        return Self.storageError(code: code, what: "\(what) failed on \(path)", detail: detail)
    }

    static func storageError(code: Int32, what: String, detail: String) -> VaultError {
        VaultError(.storage, "\(what): \(detail) (SQLite code \(code))", hint: hint(for: code))
    }

    /// What a person can do about a SQLite failure, by its primary result code.
    private static func hint(for code: Int32) -> String {
        switch code & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return "another process holds the database lock for too long; retry, and check that no other cvault "
                + "command is stuck"
        case SQLITE_FULL:
            return "the disk is full; free space, then retry"
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return "the file is damaged or is not a cvault database; restore it from a backup and run `cvault verify`"
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN, SQLITE_AUTH:
            return "check that the database file and its folder exist and are writable by the user running cvault"
        case SQLITE_IOERR:
            return "the disk reported an I/O error; check the disk and the system log, then retry"
        case SQLITE_CONSTRAINT:
            return "the row already exists or refers to a missing row; this is a bug in the caller"
        case SQLITE_NOMEM:
            return "the process ran out of memory; retry with more memory available"
        default:
            return "unexpected database failure; report it with this message"
        }
    }
}

/// What `observeWAL` reports to.
protocol WALObserver: AnyObject, Sendable {
    /// After a commit, with the frames now in the WAL: the checkpoint to run on the committing connection now,
    /// if any.
    func walGrew(to frames: Int) -> SQLiteConnection.CheckpointMode?
    /// The result of a checkpoint `walGrew` asked for.
    func checkpointed(walFrames: Int, copied: Int)
}

/// An observer boxed in a class of known layout, so SQLite can hold a pointer to it.
private final class WALObserverBox {
    let observer: any WALObserver
    init(_ observer: any WALObserver) { self.observer = observer }
}
