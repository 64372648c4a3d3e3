/// Where the vault keeps its rows. SQLite (`VaultSQLite`) is the embedded default; PostgreSQL (`VaultPostgres`)
/// lets several servers serve one vault. Nothing here names a storage engine.
///
/// A store promises:
/// - `write` runs its closure inside a transaction (its own savepoint, possibly grouped with other
///   callers' closures into one commit) and returns only after that transaction is durable. If the closure
///   throws, none of its changes are kept and the error is rethrown; other callers in the same group are
///   unaffected. If the commit fails, every caller in the group gets the error and nothing is kept.
/// - `read` runs its closure against a consistent snapshot, concurrently with writes and other reads.
/// - Closures run on the store's own threads, never on Swift's cooperative pool, so they may block.
/// - Deleted rows leave nothing behind once `writeAndScrub` has returned `scrubbed: true` (see there).
public protocol VaultStore: Sendable {
    /// Whether other processes may write the same rows at the same time (several servers on one database).
    /// The vault then keeps what it would otherwise keep in its own memory, each identity's
    /// `reveals_per_minute` and `misses_per_minute` buckets, in the store (`StoreWriter.bucket`), so the
    /// limits hold across every process, not per process. False for a store only one process writes at a
    /// time (SQLite: the server, or a CLI command), whose in-memory buckets cost no query.
    var sharedByProcesses: Bool { get }
    func write<T: Sendable>(_ work: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T
    /// `write`, and then, before returning, scrubs: once it returns `scrubbed: true`, no byte of any row that
    /// the write (or any earlier one) deleted remains in any file the store keeps: not in the database's free
    /// space, not in old copies of its pages, not in a log or journal. Erase uses it, so that an erased
    /// subject's wrapped key and ciphertexts are gone from disk when the erase answers.
    /// `scrubbed: false` means the write is committed and durable, but the store could not finish the scrub
    /// within its bound (another connection kept reading an older state); it scrubs again at its next
    /// chance. SQLite: secure_delete on every connection (deleted cells and freed pages are overwritten with
    /// zeros) and a TRUNCATE checkpoint (the WAL, which still holds the pages as they were, is copied in and
    /// cut to zero bytes). PostgreSQL promises less, and says so (`PostgresStore`): VACUUM of the tables an erase
    /// deletes from once no older snapshot can see the rows, which leaves freed space unoverwritten until reused
    /// and the WAL, its archive and replicas as they are.
    func writeAndScrub<T: Sendable>(
        _ work: @escaping @Sendable (any StoreWriter) throws -> T
    ) async throws
        -> (value: T, scrubbed: Bool)
    func read<T: Sendable>(_ work: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T
    /// Runs `read`, then `write` with what `read` returned; `write` as in `write(_:)`. The store chooses where
    /// `read` runs: inside the same write job (one hand-off, and the same snapshot as `write`), or first on a
    /// reader, so a long read does not hold other writes back. `write` must therefore re-check whatever may
    /// have changed in between, and is told whether a subject may have been erased meanwhile (`ReadSnapshot`:
    /// after `.changedSince`, rows the read found may be gone).
    /// `items` says how much work `read` is (tokens), to help the choice.
    func readThenWrite<R: Sendable, T: Sendable>(
        items: Int,
        read: @escaping @Sendable (any StoreReader) throws -> R,
        write: @escaping @Sendable (any StoreWriter, R, ReadSnapshot) throws -> T
    ) async throws -> T
    /// Finishes queued writes, then closes every connection. Later calls fail.
    func close() async
}

extension VaultStore {
    /// A store with nothing better to do reads first, then writes.
    public func readThenWrite<R: Sendable, T: Sendable>(
        items: Int,
        read: @escaping @Sendable (any StoreReader) throws -> R,
        write: @escaping @Sendable (any StoreWriter, R, ReadSnapshot) throws -> T
    ) async throws -> T {
        let found = try await self.read(read)
        return try await self.write { writer in try write(writer, found, .changedSince) }
    }
}

/// What a read may see.
public protocol StoreReader {
    /// The row with this id if its token carries it (`addressing == .id`), else nil.
    func token(id: Int64) throws -> StoredToken?
    /// `token(id:)` for several ids, by id (an id without such a row is absent): a store whose look-ups
    /// cost a round trip each answers them together. The default asks `token(id:)` for each.
    func tokens(ids: [Int64]) throws -> [Int64: StoredToken]
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
    /// Whether the subject with this id still exists. Ids are never reused and a subject's rows are deleted
    /// only with it (erase), so this says whether rows read earlier for it are still there.
    func subjectExists(id: Int64) throws -> Bool

    // MARK: The customer's rights (docs/PRIVACY.md)

    /// The subject with this id (by its primary key), nil once erased.
    func subject(id: Int64) throws -> SubjectRecord?
    /// The subject's latest consent decision for `purpose`, nil if it never made one.
    func consent(subjectID: Int64, purpose: Purpose) throws -> ConsentRecord?
    /// The subject's latest decision for each purpose it ever decided on, by purpose name.
    func consents(subjectID: Int64) throws -> [ConsentRecord]
    /// Every consent decision of the subject, oldest first.
    func consentHistory(subjectID: Int64) throws -> [ConsentRecord]
    /// The subject's token rows, by id.
    func tokens(subjectID: Int64) throws -> [TokenRecord]
    /// Audit records whose body names `subjectRef` among its `subject_refs`, with `seq > after`, in order, at
    /// most `limit`: found by an index, never by reading the log.
    func auditRows(concerning subjectRef: [UInt8], after seq: Int64, limit: Int) throws -> [AuditRow]
    /// Whether the index by subject lists record `seq` under `subjectRef` (what `audit verify` checks for every
    /// reference a record names): a probe or two by primary key.
    func auditRecord(_ seq: Int64, isIndexedUnder subjectRef: [UInt8]) throws -> Bool
    /// How many tokens of `kind` were created before `cutoff` (Unix seconds): what a purge would remove.
    func countTokens(kind: Kind, createdBefore cutoff: Int64) throws -> Int
}

extension StoreReader {
    public func tokens(ids: [Int64]) throws -> [Int64: StoredToken] {
        var found: [Int64: StoredToken] = [:]
        for id in ids { if let row = try token(id: id) { found[id] = row } }
        return found
    }
}

/// What a write may do. It can also read, and sees its own transaction's changes.
public protocol StoreWriter: StoreReader {
    /// Inserts a subject and returns its id. Fails if the name exists.
    func insertSubject(name: String, kekVersion: Int, dekVersion: Int, wrappedKey: [UInt8]) throws -> Int64
    /// Replaces a subject's wrapped key (rewrap under another KEK version).
    func updateWrappedKey(subjectID: Int64, kekVersion: Int, wrappedKey: [UInt8]) throws
    /// Whether this lookup is taken: by a row found by lookup, or by a tombstone of an erased
    /// format-preserving token (the collision check for format-preserving tokens, so a token string once
    /// issued is never issued to anyone else, even after its subject was erased).
    func tokenExists(lookup: [UInt8]) throws -> Bool
    /// An id larger than that of every token row ever committed (erased ones included) and every id reserved
    /// earlier in this transaction, so an id never comes back for another row. An id reserved by a write that
    /// was rolled back may be handed out again: no token carrying it ever left.
    func nextTokenID() throws -> Int64
    /// Inserts the row under `record.id` (from `nextTokenID`). Fails if a row found by lookup already has
    /// this lookup for this subject, or if it is a format-preserving row whose lookup has a tombstone.
    func insertToken(_ record: TokenRecord) throws
    /// Atomically counts one reveal of the row if it is still under its `maxReveals`; false if not.
    func claimReveal(tokenID: Int64) throws -> Bool
    /// Deletes the subject, its wrapped key, all its tokens and its idempotency records, and keeps a tombstone
    /// of each of its format-preserving tokens' lookups; returns how many tokens went. 0 if unknown.
    func eraseSubject(named name: String) throws -> Int
    /// The last audit record, nil for an empty log.
    func auditHead() throws -> AuditRow?
    func appendAudit(_ row: AuditRow) throws
    func lastAuditSeal() throws -> AuditSeal?
    func appendAuditSeal(_ seal: AuditSeal) throws
    func putIdempotency(_ record: IdempotencyRecord) throws
    /// Deletes at most `limit` idempotency records created before `cutoff` (Unix seconds), oldest first;
    /// returns how many went.
    func purgeIdempotency(createdBefore cutoff: Int64, limit: Int) throws -> Int

    // MARK: The customer's rights (docs/PRIVACY.md)

    /// Inserts a subject with no data key (`SubjectRecord.hasDataKey` false) and returns its id: a subject
    /// known by a consent decision or a restriction before any of its values. Fails if the name exists.
    func insertSubjectWithoutKey(name: String) throws -> Int64
    /// Gives a subject that has no data key a new one (with a data-key version above any it had), so values
    /// can be tokenized for it again.
    func replaceDataKey(subjectID: Int64, kekVersion: Int, dekVersion: Int, wrappedKey: [UInt8]) throws
    /// Records a consent decision: it becomes the subject's latest for its purpose and joins its history.
    func recordConsent(_ record: ConsentRecord) throws
    /// Sets (or, with nil, lifts) the subject's restriction.
    func setRestriction(subjectID: Int64, _ restriction: Restriction?) throws
    /// Deletes at most `limit` tokens of `kind` created before `cutoff` (Unix seconds), oldest first, with a
    /// tombstone of each format-preserving one (as erase keeps); then destroys the data key (and the stored
    /// tokenize answers) of every subject left with no token. A subject's consent and restriction stay: they
    /// are the customer's choices, not their data.
    func purgeTokens(kind: Kind, createdBefore cutoff: Int64, limit: Int) throws -> PurgedTokens
    /// Sets a token row's creation time to `createdAt`: its value was tokenized again for its subject after
    /// its retention had passed, so its retention starts again, as if the row had been purged and stored anew
    /// (`TokenWriter`). Nothing else of the row changes; an id with no row is left alone.
    func renewToken(id: Int64, createdAt: Int64) throws

    // MARK: Budgets shared by processes (`VaultStore.sharedByProcesses`)

    /// The rate bucket kept under `key` (an identity's reveal rate or miss budget, `StoredBudgets`), nil if
    /// none was ever put. Read in the same write that puts it back, so on a store several processes share,
    /// its writes must be serialized with every other write that reads a bucket (or the row locked until
    /// the transaction ends): a take is then exact however many servers race.
    func bucket(_ key: String) throws -> StoredBucket?
    /// Sets the bucket under `key`, replacing any it had.
    func putBucket(_ key: String, _ bucket: StoredBucket) throws
}
