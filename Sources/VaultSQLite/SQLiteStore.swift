import Dispatch
import Synchronization
import VaultCore
import VaultStoreRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The embedded SQLite store: one writer thread committing concurrent writes in groups (one fsync per
/// group), and a few reader threads on WAL snapshots. Several stores, in this process or others (the CLI),
/// may open the same file: SQLite's locks and the busy timeout serialize their writes.
public final class SQLiteStore: GroupWritingStore {
    /// Reader threads. Two match the two cores: reads are short and mostly CPU once pages are cached, and
    /// the writer has a thread of its own.
    static let readerCount = 2

    /// The database file.
    public let path: String

    /// False: one `cvault serve` serves a SQLite vault, so its in-memory budgets see every reveal. (A CLI
    /// command that opens the file beside it, with the keyring unsealed, keeps budgets of its own.)
    public var sharedByProcesses: Bool { false }

    private let writer: GroupWriter<SQLiteWriteConnection>
    private let readers: ReaderPool<SQLiteConnection>
    private let checkpointer: Checkpointer

    /// Creates a new, empty vault database at `path` (mode 0600, as are its WAL and shared-memory files).
    /// Fails with `.alreadyInitialized` if a file is already there.
    public static func create(at path: String) throws -> SQLiteStore {
        try create(at: path, checkpoints: .standard)
    }

    /// `create` with other checkpoint settings (tests use small ones).
    static func create(at path: String, checkpoints: Checkpointer.Settings) throws -> SQLiteStore {
        try DatabaseFile.createPrivate(path) { existing in
            VaultError(
                .alreadyInitialized,
                "a vault database already exists at \(existing)",
                hint: "open the existing vault, or move \(existing) away to start a new one"
            )
        }
        do {
            return try SQLiteStore(path: path, fresh: true, checkpoints: checkpoints)
        } catch {
            // Leave nothing half-made behind, so `create` can simply be run again.
            DatabaseFile.remove(path)
            throw error
        }
    }

    /// Opens an existing vault database, bringing its schema up to date. Fails with `.notInitialized` if
    /// there is none, `.permissions` if the file is readable or writable by group or others, and `.storage`
    /// if it is not a cvault database or was written by a newer cvault.
    public static func open(at path: String) throws -> SQLiteStore {
        try DatabaseFile.checkExisting(path)
        return try SQLiteStore(path: path, fresh: false, checkpoints: .standard)
    }

    /// Opens and configures every connection and migrates the schema before any thread starts, so a failure
    /// leaves no thread behind (connections close in their deinit).
    private init(path: String, fresh: Bool, checkpoints: Checkpointer.Settings) throws {
        self.path = path
        let writeConnection = try SQLiteConnection(path: path)
        try writeConnection.configure(as: .writer)
        let upgraded = try Schema.migrate(writeConnection, fresh: fresh)
        // A migration that deleted rows (version 3 drops unkeyed request digests) leaves their old pages in
        // the WAL: copy it in and cut it, before anything else reads or writes. Another process still reading
        // (against the runbook) may stop this; the next scrub finishes it.
        let scrubOwed = upgraded ? !(try writeConnection.checkpointTruncating()) : false
        var readConnections: [SQLiteConnection] = []
        for _ in 0..<Self.readerCount {
            let connection = try SQLiteConnection(path: path)
            try connection.configure(as: .reader)
            readConnections.append(connection)
        }
        let checkpointConnection = try SQLiteConnection(path: path)
        try checkpointConnection.configure(as: .checkpointer)
        let checkpointer = Checkpointer(connection: checkpointConnection, settings: checkpoints)
        self.checkpointer = checkpointer
        writeConnection.observeWAL(checkpointer)
        writer = GroupWriter(database: SQLiteWriteConnection(writeConnection))
        readers = ReaderPool(connections: readConnections) { $0.close() }
        if scrubOwed { owedScrubSince.store(1, ordering: .relaxed) }
    }

    /// A store dropped without `close()` still lets its threads finish queued work and exit.
    deinit {
        writer.close()
        readers.close()
        checkpointer.close()
    }

    /// Runs `work` on the writer thread in its own savepoint, grouped with other queued writes into one
    /// transaction, and returns once that transaction is durable. Not cancellable once queued: cancelling
    /// the caller's task neither stops nor undoes a write, since its commit may already be under way.
    public func write<T: Sendable>(_ work: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        let value = try await writer.write(work)
        retryOwedScrub()
        return value
    }

    /// How long a scrub keeps trying TRUNCATE checkpoints before it reports `scrubbed: false`. Two things make
    /// one fail: a reader of old frames (each try waits up to the busy timeout, 5 s, for it: this store's
    /// readers run short transactions, so what outlasts the bound is another process's long read, a backup
    /// or a shell), and another connection's checkpoint in progress (the background `Checkpointer`), for
    /// which SQLite answers SQLITE_BUSY at once, without the busy handler. Under load the second is common
    /// (measured: 25 of ~1,100 erases under 256 clients failed with two back-to-back tries), so a busy answer
    /// is retried after a short, growing pause until this much time has passed.
    static let scrubPatience: Duration = .seconds(5)

    /// A scrub that could not finish is tried again before a later write, at most this often (seconds): each
    /// try may hold the writer for the busy timeout while that reader lasts.
    static let owedScrubInterval: Int64 = 10

    /// Set when a scrub could not finish: the next write after `owedScrubInterval` tries it again.
    private let owedScrubSince = Atomic<Int64>(0)

    public func writeAndScrub<T: Sendable>(
        _ work: @escaping @Sendable (any StoreWriter) throws -> T
    ) async throws
        -> (value: T, scrubbed: Bool)
    {
        let value = try await write(work)
        // The bulk of the WAL is copied off the writer first, so other writes wait only for the rest.
        await checkpointer.catchUpNow()
        let scrubbed = try await onWriter { db in try Self.scrub(db, patience: Self.scrubPatience) }
        owedScrubSince.store(scrubbed ? 0 : Self.uptime(), ordering: .relaxed)
        return (value, scrubbed)
    }

    /// Secure delete (every connection, `ConnectionSetup`) has already overwritten the deleted cells and
    /// freed pages with zeros in the pages' newest copies; the WAL still holds the older copies. A TRUNCATE
    /// checkpoint copies the newest copy of every page into the database file (over the old one there) and
    /// cuts the WAL to zero bytes, so no old copy is left in either file. The shared-memory file holds only
    /// page numbers and frame indexes, never page contents.
    private static func scrub(_ db: SQLiteConnection, patience: Duration) throws -> Bool {
        let deadline = ContinuousClock.now + patience
        var pauseMicroseconds: UInt32 = 500
        while true {
            if try db.checkpointTruncating() { return true }
            guard ContinuousClock.now < deadline else { return false }
            // The writer thread waits (no write can append meanwhile); another checkpoint takes milliseconds.
            usleep(pauseMicroseconds)
            pauseMicroseconds = min(pauseMicroseconds * 2, 50_000)
        }
    }

    /// Queues one more try of a scrub that could not finish, if one is owed and the last try is old enough.
    private func retryOwedScrub() {
        let since = owedScrubSince.load(ordering: .relaxed)
        guard since != 0, Self.uptime() - since >= Self.owedScrubInterval,
            owedScrubSince.compareExchange(expected: since, desired: Self.uptime(), ordering: .relaxed).exchanged
        else { return }
        _ = writer.submit(
            .maintenance { [self] writer in
                if (try? Self.scrub(writer.db, patience: .milliseconds(200))) == true {
                    owedScrubSince.store(0, ordering: .relaxed)
                }
            }
        )
    }

    /// Monotonic seconds (never 0 while running, so 0 can mean "nothing owed").
    private static func uptime() -> Int64 {
        Int64(truncatingIfNeeded: DispatchTime.now().uptimeNanoseconds / 1_000_000_000) + 1
    }

    public func read<T: Sendable>(_ work: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        try await onReader { db in try Self.inReadTransaction(db, work) }
    }

    /// One read transaction around `work`: every query in it sees the same snapshot.
    private static func inReadTransaction<T>(_ db: SQLiteConnection, _ work: (SQLiteAccess) throws -> T) throws -> T {
        try db.execute("BEGIN", what: "starting a read")
        defer { if !db.isAutocommit { try? db.execute("ROLLBACK", what: "ending a failed read") } }
        let value = try work(SQLiteAccess(db: db))
        try db.execute("COMMIT", what: "ending a read")
        return value
    }

    public var writerIsIdle: Bool { writer.isIdle }

    public func close() async {
        writer.close()
        readers.close()
        await writer.waitUntilFinished()
        await readers.waitUntilFinished()
        checkpointer.close()
        await checkpointer.waitUntilFinished()
    }

    /// Copies the whole database, as one consistent snapshot, into a new file at `destination` (mode 0600).
    /// Runs on a reader thread, so writes go on meanwhile. Fails if `destination` exists; a failed backup
    /// leaves no file behind.
    public func backup(to destination: String) async throws {
        try DatabaseFile.createPrivate(destination) { existing in
            VaultError(
                .storage,
                "the backup target \(existing) already exists",
                hint: "choose a new file name for the backup; cvault never overwrites one"
            )
        }
        do {
            try await onReader { db in
                let target = try SQLiteConnection(path: destination)
                defer { target.close() }
                try target.configure(as: .backupTarget)
                try db.backup(into: target)
                // Read the copy back before calling it a backup.
                let check = try target.queryOne("PRAGMA quick_check", what: "checking the backup") { $0.text(0) }
                guard check == "ok" else {
                    throw VaultError(
                        .storage,
                        "the backup \(destination) failed its integrity check",
                        hint: "check the disk holding the backup, then run the backup again"
                    )
                }
            }
            DatabaseFile.syncFolder(of: destination)
        } catch {
            DatabaseFile.remove(destination)
            throw error
        }
    }

    /// Copies every WAL frame into the database file and truncates the WAL to zero bytes (the scrub of
    /// `writeAndScrub` on its own). Fails if another connection (another process) keeps reading an old
    /// snapshot past the busy timeout.
    public func checkpoint() async throws {
        let path = self.path
        let done = try await onWriter { db in try Self.scrub(db, patience: Self.scrubPatience) }
        guard done else {
            throw VaultError(
                .storage,
                "checkpoint of \(path) stopped early: another connection is still reading an older snapshot",
                hint: "retry once other cvault commands on this vault have finished"
            )
        }
        owedScrubSince.store(0, ordering: .relaxed)
    }

    /// Background checkpoints run so far, for tests.
    var checkpointCount: Int { checkpointer.runCount }

    /// Groups committed so far, for tests.
    var commitCount: Int { writer.commitCount }

    /// Writes queued and not yet taken by the writer thread, for tests.
    var queuedWrites: Int { writer.queuedCount }

    /// Runs `body` on a reader thread with that thread's connection.
    private func onReader<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await readers.run(body)
    }

    /// Runs `body` on the writer thread, between groups and outside any transaction.
    private func onWriter<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await writer.maintain { writer in try body(writer.db) }
    }
}
