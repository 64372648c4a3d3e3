/// Where the vault keeps its rows. SQLite (`VaultSQLite`) is the embedded default; a PostgreSQL backend will
/// follow, so nothing here names a storage engine.
///
/// A store promises:
/// - `write` runs its closure inside a transaction (its own savepoint, possibly grouped with other
///   callers' closures into one commit) and returns only after that transaction is durable. If the closure
///   throws, none of its changes are kept and the error is rethrown; other callers in the same group are
///   unaffected. If the commit fails, every caller in the group gets the error and nothing is kept.
/// - `read` runs its closure against a consistent snapshot, concurrently with writes and other reads.
/// - Closures run on the store's own threads, never on Swift's cooperative pool, so they may block.
public protocol VaultStore: Sendable {
    func write<T: Sendable>(_ work: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T
    func read<T: Sendable>(_ work: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T
    /// Runs `read`, then `write` with what `read` returned; `write` as in `write(_:)`. The store chooses where
    /// `read` runs: inside the same write job (one hand-off, and the same snapshot as `write`), or first on a
    /// reader, so a long read does not hold other writes back. `write` must therefore re-check whatever may
    /// have changed in between. `items` says how much work `read` is (tokens), to help the choice.
    func readThenWrite<R: Sendable, T: Sendable>(
        items: Int, read: @escaping @Sendable (any StoreReader) throws -> R,
        write: @escaping @Sendable (any StoreWriter, R) throws -> T) async throws -> T
    /// Finishes queued writes, then closes every connection. Later calls fail.
    func close() async
}

extension VaultStore {
    /// A store with nothing better to do reads first, then writes.
    public func readThenWrite<R: Sendable, T: Sendable>(
        items: Int, read: @escaping @Sendable (any StoreReader) throws -> R,
        write: @escaping @Sendable (any StoreWriter, R) throws -> T
    ) async throws -> T {
        let found = try await self.read(read)
        return try await self.write { writer in try write(writer, found) }
    }
}

/// What a read may see.
public protocol StoreReader {
    /// The row with this id if its token carries it (`addressing == .id`), else nil.
    func token(id: Int64) throws -> StoredToken?
    /// Rows found by lookup (`addressing == .lookup`) whose lookup equals `lookup`, oldest subject first (more
    /// than one only for deterministic tokens shared by several subjects).
    func tokens(lookup: [UInt8]) throws -> [StoredToken]
    func subject(named name: String) throws -> SubjectRecord?
    func stats() throws -> StoreStats
    /// Audit records with `seq >= from`, in order, at most `limit`.
    func auditRows(from: Int64, limit: Int) throws -> [AuditRow]
    /// Every seal, in order of `seq`.
    func auditSeals() throws -> [AuditSeal]
    /// Subjects whose data key is wrapped by a KEK version other than `version`, at most `limit`, by id.
    func subjects(notWrappedBy version: Int, after id: Int64, limit: Int) throws -> [SubjectRecord]
    /// Every token with its subject, `limit` at a time, by id (for `verify` and backups).
    /// Pass nil to start and then each returned `next`; `next` is nil once there is nothing more.
    func allTokens(after cursor: TokenCursor?, limit: Int) throws -> (tokens: [StoredToken], next: TokenCursor?)
    func idempotency(keyHash: [UInt8]) throws -> IdempotencyRecord?
}

/// What a write may do. It can also read, and sees its own transaction's changes.
public protocol StoreWriter: StoreReader {
    /// Inserts a subject and returns its id. Fails if the name exists.
    func insertSubject(name: String, kekVersion: Int, dekVersion: Int, wrappedKey: [UInt8]) throws -> Int64
    /// Replaces a subject's wrapped key (rewrap under another KEK version).
    func updateWrappedKey(subjectID: Int64, kekVersion: Int, wrappedKey: [UInt8]) throws
    /// Whether any row found by lookup has this lookup (the collision check for format-preserving tokens).
    func tokenExists(lookup: [UInt8]) throws -> Bool
    /// An id larger than that of every token row ever committed (erased ones included) and every id reserved
    /// earlier in this transaction, so an id never comes back for another row. An id reserved by a write that
    /// was rolled back may be handed out again: no token carrying it ever left.
    func nextTokenID() throws -> Int64
    /// Inserts the row under `record.id` (from `nextTokenID`). Fails if a row found by lookup already has
    /// this lookup for this subject.
    func insertToken(_ record: TokenRecord) throws
    /// Atomically counts one reveal of the row if it is still under its `maxReveals`; false if not.
    func claimReveal(tokenID: Int64) throws -> Bool
    /// Deletes the subject, its wrapped key and all its tokens; returns how many tokens went. 0 if unknown.
    func eraseSubject(named name: String) throws -> Int
    /// The last audit record, nil for an empty log.
    func auditHead() throws -> AuditRow?
    func appendAudit(_ row: AuditRow) throws
    func lastAuditSeal() throws -> AuditSeal?
    func appendAuditSeal(_ seal: AuditSeal) throws
    func putIdempotency(_ record: IdempotencyRecord) throws
}
