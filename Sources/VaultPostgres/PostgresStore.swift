import Dispatch
import Synchronization
import VaultCore
import VaultStoreRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL store: any number of `cvault serve` processes, on one host or many, serving one vault at
/// once from one database, with the guarantees of the embedded SQLite store.
///
/// Each store has one writer thread committing concurrent writes in groups (`GroupWriter`, shared with the
/// SQLite store: one transaction per group, a savepoint per job, one durable commit per group), two reader
/// threads, and a maintenance thread for scrubs, each with a libpq connection of its own.
///
/// Isolation, and why:
/// - A write group runs READ COMMITTED and first takes `pg_advisory_xact_lock` on one cvault key
///   (`PostgresWriteConnection`), held until its commit: the write groups of every server run one at a time.
///   So the audit chain has one head, a group may remember head, seal and last token id
///   (`GroupMemory`), and check-then-write steps (claims, tombstones, idempotency) are exact. Each statement
///   after the lock sees every earlier group's commit, which is all a serialized writer needs; REPEATABLE READ
///   would only add serialization failures. Uniqueness that must hold even so is the database's: unique
///   constraints (`tokens_by_lookup`, subject names, audit `seq`), never a check-then-insert alone.
/// - A read runs REPEATABLE READ READ ONLY: every query of the read sees one snapshot, as on SQLite's WAL,
///   and nothing in it can write.
/// - `synchronous_commit` is set on for every session: a token is handed out only once its row is durable.
///
/// A lost connection (the database restarted or failed over, the backend was terminated) fails the group or
/// read in flight with `storeUnavailable`, never with a success that did not commit; the next group or read
/// reconnects by itself (`PostgresConnection.reconnectIfNeeded`), so the server serves again once the
/// database is back.
///
/// Scrubbing (`writeAndScrub`): after the write commits, the maintenance connection waits (up to
/// `scrubPatience`) until no session of the database still holds a snapshot older than the write (a snapshot
/// that could still read the deleted rows, and would keep VACUUM from removing them), then runs
/// `VACUUM (INDEX_CLEANUP ON)` on the tables an erase or purge deletes from: the deleted row versions and
/// their index entries are removed, and no query, on any server, can reach them. `scrubbed: true` says that
/// much. What PostgreSQL does not do, and this store therefore does not promise:
/// - VACUUM marks the space free; it does not overwrite it. The bytes of a removed row stay in the table's
///   data file until PostgreSQL reuses that space (or `VACUUM FULL`, which rewrites the table under an
///   exclusive lock, runs).
/// - The WAL holds the rows as they were written until its segments are recycled (after a checkpoint,
///   `max_wal_size`), and a WAL archive or a base backup keeps them as long as it is kept.
/// - Streaming replicas replay the same changes and keep the same leftovers in their own files.
/// An erased subject's values stay unreadable without the keyring either way: its wrapped data key went with
/// it. A role that may not VACUUM those tables (not their owner: see `leastPrivilegeSQL`) gets
/// `scrubbed: false`, and autovacuum removes the rows later.
public final class PostgresStore: GroupWritingStore {
    /// Reader threads, as for SQLite: the two cores, and the writer has a thread of its own.
    static let readerCount = 2

    /// The database, without its password.
    public let url: PostgresURL
    private let writer: GroupWriter<PostgresWriteConnection>
    private let readers: ReaderPool<PostgresConnection>
    private let maintenance: ReaderPool<PostgresConnection>
    /// Whether this role owns (or is superuser over) every table a scrub vacuums.
    private let canVacuum: Bool

    /// Whether this role may VACUUM what a scrub vacuums (`privilegeWarnings` says so when not).
    var canVacuumTables: Bool { canVacuum }

    /// Creates the schema in an empty database and opens it. Fails with `.alreadyInitialized` if the database
    /// already holds cvault's tables, `storeUnavailable` if it cannot be reached.
    public static func create(_ url: PostgresURL) throws -> PostgresStore {
        try PostgresStore(url: url, fresh: true)
    }

    /// Opens a database that holds a vault. Fails with `.notInitialized` if it holds none, `.storage` if its
    /// schema is newer than this cvault's, `storeUnavailable` if it cannot be reached.
    public static func open(_ url: PostgresURL) throws -> PostgresStore {
        try PostgresStore(url: url, fresh: false)
    }

    /// Opens every connection and checks (or creates) the schema before any thread starts, so a failure leaves
    /// no thread behind (connections close in their deinit).
    private init(url: PostgresURL, fresh: Bool) throws {
        self.url = url
        let writeConnection = try PostgresConnection(url: url)
        if fresh {
            try PostgresSchema.create(on: writeConnection)
        } else {
            try PostgresSchema.check(on: writeConnection)
        }
        var readConnections: [PostgresConnection] = []
        for _ in 0..<Self.readerCount { readConnections.append(try PostgresConnection(url: url)) }
        let maintenanceConnection = try PostgresConnection(url: url)
        canVacuum = try Self.mayVacuum(maintenanceConnection)
        writer = GroupWriter(database: PostgresWriteConnection(writeConnection))
        readers = ReaderPool(connections: readConnections) { $0.close() }
        maintenance = ReaderPool(connections: [maintenanceConnection], threadPrefix: "cvault-pgmaint") { $0.close() }
    }

    /// A store dropped without `close()` still lets its threads finish queued work and exit.
    deinit {
        writer.close()
        readers.close()
        maintenance.close()
    }

    /// Runs `work` on the writer thread in its own savepoint, grouped with other queued writes into one
    /// transaction, and returns once that transaction is durable. Not cancellable once queued.
    public func write<T: Sendable>(_ work: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        let value = try await writer.write(work)
        retryOwedScrub()
        return value
    }

    public func read<T: Sendable>(_ work: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        try await onReader { db in try Self.inReadTransaction(db, work) }
    }

    /// One REPEATABLE READ READ ONLY transaction around `work`: every query in it sees one snapshot, taken at
    /// its first query. A connection lost since the last read shows at BEGIN, and is reconnected there.
    private static func inReadTransaction<T>(
        _ db: PostgresConnection,
        _ work: (PostgresAccess) throws -> T
    ) throws -> T {
        try db.opening { try db.simple("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", what: "starting a read") }
        defer { if db.inTransaction && db.isConnected { _ = try? db.simple("ROLLBACK", what: "ending a read") } }
        let value = try work(PostgresAccess(db: db))
        try db.simple("COMMIT", what: "ending a read")
        return value
    }

    public var writerIsIdle: Bool { writer.isIdle }

    public func close() async {
        writer.close()
        readers.close()
        maintenance.close()
        await writer.waitUntilFinished()
        await readers.waitUntilFinished()
        await maintenance.waitUntilFinished()
    }

    // MARK: Scrubbing

    /// How long a scrub waits for older snapshots to end before it reports `scrubbed: false`.
    static let scrubPatience: Duration = .seconds(5)

    /// A scrub that could not finish is tried again before a later write, at most this often (seconds).
    static let owedScrubInterval: Int64 = 10

    /// The transaction id of the last write whose scrub could not finish, and when it was last tried.
    private let owedScrub = Mutex<(transaction: Int64, since: Int64)?>(nil)

    /// `write`, then the scrub described in the type's comment, on the maintenance connection (so other writes
    /// go on meanwhile).
    public func writeAndScrub<T: Sendable>(
        _ work: @escaping @Sendable (any StoreWriter) throws -> T
    ) async throws
        -> (value: T, scrubbed: Bool)
    {
        let (value, transaction) = try await write { writer in
            guard let access = writer as? PostgresAccess else {
                throw VaultError(.internal, "a PostgreSQL write ran on another store's writer")
            }
            return (try work(writer), try access.transactionID())
        }
        let canVacuum = self.canVacuum
        let scrubbed = try await onMaintenance { db in
            try Self.scrub(db, after: transaction, canVacuum: canVacuum, patience: Self.scrubPatience)
        }
        owedScrub.withLock { $0 = scrubbed ? nil : (transaction, Self.uptime()) }
        return (value, scrubbed)
    }

    /// Waits until no snapshot that could see what `transaction` deleted is left, then vacuums.
    private static func scrub(
        _ db: PostgresConnection,
        after transaction: Int64,
        canVacuum: Bool,
        patience: Duration
    ) throws -> Bool {
        guard canVacuum else { return false }
        try db.reconnectIfNeeded()
        let deadline = ContinuousClock.now + patience
        var pauseMicroseconds: UInt32 = 1_000
        while try olderSnapshots(db, than: transaction) > 0 {
            guard ContinuousClock.now < deadline else { return false }
            usleep(pauseMicroseconds)
            pauseMicroseconds = min(pauseMicroseconds * 2, 100_000)
        }
        try db.simple(
            "VACUUM (INDEX_CLEANUP ON) " + PostgresSchema.erasedTables.joined(separator: ", "),
            what: "vacuuming erased rows"
        )
        return true
    }

    /// Sessions of this database (and replication slots, and prepared transactions) whose oldest snapshot
    /// began before `transaction` ended: each could still read the rows it deleted, and keeps VACUUM from
    /// removing them. Compared by age, which handles the 32-bit transaction ids' wraparound.
    private static func olderSnapshots(_ db: PostgresConnection, than transaction: Int64) throws -> Int {
        try db.queryOne(
            """
            WITH mine AS (SELECT age(($1::text)::xid) AS age)
            SELECT (SELECT count(*) FROM pg_stat_activity, mine
                    WHERE pid <> pg_backend_pid() AND backend_xmin IS NOT NULL AND age(backend_xmin) >= mine.age
                      AND (datname = current_database() OR datname IS NULL))
                 + (SELECT count(*) FROM pg_replication_slots, mine WHERE xmin IS NOT NULL AND age(xmin) >= mine.age)
                 + (SELECT count(*) FROM pg_prepared_xacts, mine
                    WHERE database = current_database() AND age(transaction) >= mine.age)
            """,
            [.int(transaction & 0xFFFF_FFFF)],
            what: "looking for older snapshots"
        ) { try $0.int(0) } ?? 0
    }

    /// Whether this role may VACUUM every table a scrub vacuums (their owner, or a superuser).
    private static func mayVacuum(_ db: PostgresConnection) throws -> Bool {
        let tables = PostgresSchema.erasedTables.map { "'\($0)'::regclass" }.joined(separator: ", ")
        return try db.queryOne(
            "SELECT bool_and(pg_has_role(current_user, relowner, 'USAGE')) FROM pg_class WHERE oid IN (\(tables))",
            what: "checking the right to vacuum"
        ) { try $0.bool(0) } ?? false
    }

    /// Queues one more try of a scrub that could not finish, if one is owed and the last try is old enough.
    private func retryOwedScrub() {
        let now = Self.uptime()
        let owed: Int64? = owedScrub.withLock { owed in
            guard let current = owed, now - current.since >= Self.owedScrubInterval else { return nil }
            owed = (current.transaction, now)
            return current.transaction
        }
        guard let owed else { return }
        let canVacuum = self.canVacuum
        _ = maintenance.submit { [self] db in
            if (try? Self.scrub(db, after: owed, canVacuum: canVacuum, patience: .milliseconds(200))) == true {
                owedScrub.withLock { if $0?.transaction == owed { $0 = nil } }
            }
        }
    }

    /// Monotonic seconds.
    private static func uptime() -> Int64 {
        Int64(truncatingIfNeeded: DispatchTime.now().uptimeNanoseconds / 1_000_000_000) + 1
    }

    // MARK: For tests

    /// Groups committed so far.
    var commitCount: Int { writer.commitCount }

    /// Writes queued and not yet taken by the writer thread.
    var queuedWrites: Int { writer.queuedCount }

    // MARK: Threads

    /// Runs `body` on a reader thread with that thread's connection.
    func onReader<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await readers.run(body)
    }

    /// Runs `body` on the maintenance thread, outside any transaction.
    func onMaintenance<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await maintenance.run(body)
    }
}

extension PostgresAccess {
    /// The id of the transaction this access runs in (assigning one if it had none).
    func transactionID() throws -> Int64 {
        try db.queryOne("SELECT pg_current_xact_id()::text::bigint", what: "reading the transaction id") {
            try $0.int64(0)
        } ?? 0
    }
}
