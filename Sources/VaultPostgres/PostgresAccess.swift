import VaultCore
import VaultStoreRuntime

/// The store's rows as seen through one connection: what `read` and `write` closures receive, method for
/// method the same promises as the SQLite store's `SQLiteAccess`. Read closures get it inside a
/// `READ ONLY` transaction, so even a cast to `StoreWriter` cannot change anything there.
///
/// Every statement is prepared once per connection and runs with binary parameters; each method is one round
/// trip unless it says otherwise.
struct PostgresAccess: StoreWriter, ChangeCounting {
    let db: PostgresConnection
    /// The writer's memory within one group's transaction (nil for readers).
    var group: GroupMemory? = nil

    // MARK: Reading

    // Built once: the SQL text is the prepared-statement cache's key.
    private static let tokenByID = StoredRows.storedTokenSelect + " WHERE t.id = $1 AND t.addressed"
    // `NOT addressed` lets the planner use the partial index tokens_by_lookup.
    private static let tokensByLookup =
        StoredRows.storedTokenSelect + " WHERE t.lookup = $1 AND NOT t.addressed ORDER BY t.subject_id"
    private static let tokensAfterID = StoredRows.storedTokenSelect + " WHERE t.id > $1 ORDER BY t.id LIMIT $2"
    private static let tokensOfSubject = StoredRows.storedTokenSelect + " WHERE t.subject_id = $1 ORDER BY t.id"
    private static let subjectByName = "SELECT \(StoredRows.subjectColumns) FROM subjects WHERE name = $1"
    private static let subjectByID = "SELECT \(StoredRows.subjectColumns) FROM subjects WHERE id = $1"

    /// Seconds since the epoch at the transaction's start, as the server's clock has it.
    private static let now = "extract(epoch FROM now())::bigint"

    func token(id: Int64) throws -> StoredToken? {
        try db.queryOne(Self.tokenByID, [.int(id)], what: "looking up a token", row: StoredRows.storedToken)
    }

    /// Every id's look-up sent before any answer is read (`queryEach`): a detokenize of 256 opaque tokens
    /// costs one round trip for its rows instead of 256.
    func tokens(ids: [Int64]) throws -> [Int64: StoredToken] {
        let answers = try db.queryEach(
            Self.tokenByID,
            ids.map { [.int($0)] },
            what: "looking up a token",
            row: StoredRows.storedToken
        )
        var found: [Int64: StoredToken] = [:]
        for (id, rows) in zip(ids, answers) { if let row = rows.first { found[id] = row } }
        return found
    }

    func tokens(lookup: [UInt8]) throws -> [StoredToken] {
        try db.query(Self.tokensByLookup, [.bytes(lookup)], what: "looking up a token", row: StoredRows.storedToken)
    }

    func subject(named name: String) throws -> SubjectRecord? {
        try db.queryOne(Self.subjectByName, [.text(name)], what: "looking up a subject", row: StoredRows.subject)
    }

    func stats() throws -> StoreStats {
        let counts =
            try db.queryOne(
                "SELECT (SELECT count(*) FROM subjects), (SELECT count(*) FROM tokens), (SELECT count(*) FROM audit)",
                what: "counting rows"
            ) { (try $0.int(0), try $0.int(1), try $0.int(2)) } ?? (0, 0, 0)
        let byKEK = try db.query(
            "SELECT kek_version, count(*) FROM subjects WHERE length(wrapped_key) > 0 GROUP BY kek_version",
            what: "counting data keys per KEK"
        ) { (try $0.int(0), try $0.int(1)) }
        return StoreStats(
            subjects: counts.0,
            tokens: counts.1,
            auditRecords: counts.2,
            dataKeysByKEK: Dictionary(byKEK, uniquingKeysWith: +)
        )
    }

    func auditRows(from: Int64, limit: Int) throws -> [AuditRow] {
        try db.query(
            "SELECT \(StoredRows.auditColumns) FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2",
            [.int(from), .int(max(0, limit))],
            what: "reading audit records",
            row: StoredRows.auditRow
        )
    }

    func auditSeals() throws -> [AuditSeal] {
        try db.query(
            "SELECT \(StoredRows.auditSealColumns) FROM audit_seals ORDER BY seq",
            what: "reading audit seals",
            row: StoredRows.auditSeal
        )
    }

    func subjects(notWrappedBy version: Int, after id: Int64, limit: Int) throws -> [SubjectRecord] {
        try db.query(
            """
            SELECT \(StoredRows.subjectColumns) FROM subjects
            WHERE id > $1 AND kek_version <> $2 AND length(wrapped_key) > 0 ORDER BY id LIMIT $3
            """,
            [.int(id), .int(version), .int(max(0, limit))],
            what: "listing subjects to rewrap",
            row: StoredRows.subject
        )
    }

    func allTokens(after cursor: TokenCursor?, limit: Int) throws -> (tokens: [StoredToken], next: TokenCursor?) {
        let page = try db.query(
            Self.tokensAfterID,
            [.int(cursor?.id ?? 0), .int(max(0, limit))],
            what: "listing tokens",
            row: StoredRows.storedToken
        )
        return (page, StoredRows.cursor(after: page, limit: limit))
    }

    func idempotency(keyHash: [UInt8]) throws -> IdempotencyRecord? {
        try db.queryOne(
            """
            SELECT key_hash, subject_id, request_mac, sealed_response, created_at FROM idempotency WHERE key_hash = $1
            """,
            [.bytes(keyHash)],
            what: "looking up an idempotency key"
        ) {
            IdempotencyRecord(
                keyHash: try $0.bytes(0),
                subjectID: try $0.int64(1),
                requestMAC: try $0.bytes(2),
                sealedResponse: try $0.bytes(3),
                createdAt: try $0.int64(4)
            )
        }
    }

    /// How many changes that can make a reveal's earlier read stale ever committed (`erasures`, kept by
    /// triggers and the purge). One row, by its primary key.
    func changeGeneration() throws -> Int64 {
        try db.queryOne("SELECT generation FROM erasures WHERE id = 1", what: "reading the change count") {
            try $0.int64(0)
        } ?? 0
    }

    /// By the primary key: one index probe.
    func subjectExists(id: Int64) throws -> Bool {
        try db.queryOne("SELECT true FROM subjects WHERE id = $1", [.int(id)], what: "checking a subject") { _ in true }
            ?? false
    }

    // MARK: Reading the customer's rights

    func subject(id: Int64) throws -> SubjectRecord? {
        try db.queryOne(Self.subjectByID, [.int(id)], what: "looking up a subject", row: StoredRows.subject)
    }

    /// By the primary key of `consents`: one index probe.
    func consent(subjectID: Int64, purpose: Purpose) throws -> ConsentRecord? {
        try db.queryOne(
            "SELECT \(StoredRows.consentColumns) FROM consents WHERE subject_id = $1 AND purpose = $2",
            [.int(subjectID), .text(purpose.name)],
            what: "reading a consent decision",
            row: StoredRows.consent
        )
    }

    func consents(subjectID: Int64) throws -> [ConsentRecord] {
        try db.query(
            "SELECT \(StoredRows.consentColumns) FROM consents WHERE subject_id = $1 ORDER BY purpose COLLATE \"C\"",
            [.int(subjectID)],
            what: "reading consent decisions",
            row: StoredRows.consent
        )
    }

    func consentHistory(subjectID: Int64) throws -> [ConsentRecord] {
        try db.query(
            "SELECT \(StoredRows.consentColumns) FROM consent_history WHERE subject_id = $1 ORDER BY id",
            [.int(subjectID)],
            what: "reading a consent history",
            row: StoredRows.consent
        )
    }

    func tokens(subjectID: Int64) throws -> [TokenRecord] {
        try db.query(
            Self.tokensOfSubject,
            [.int(subjectID)],
            what: "listing a subject's tokens",
            row: { try StoredRows.storedToken($0).token }
        )
    }

    /// A range of `audit_subjects`' primary key joined to the records by theirs: one statement.
    func auditRows(concerning subjectRef: [UInt8], after seq: Int64, limit: Int) throws -> [AuditRow] {
        guard limit > 0 else { return [] }
        return try db.query(
            """
            SELECT a.seq, a.prev, a.hash, a.body FROM audit_subjects x JOIN audit a ON a.seq = x.seq
            WHERE x.subject_ref = $1 AND x.seq > $2 ORDER BY x.seq LIMIT $3
            """,
            [.bytes(subjectRef), .int(seq), .int(limit)],
            what: "reading a subject's audit records",
            row: StoredRows.auditRow
        )
    }

    /// The index's primary key.
    func auditRecord(_ seq: Int64, isIndexedUnder subjectRef: [UInt8]) throws -> Bool {
        try db.queryOne(
            "SELECT true FROM audit_subjects WHERE subject_ref = $1 AND seq = $2",
            [.bytes(subjectRef), .int(seq)],
            what: "checking the subject index"
        ) { _ in true } ?? false
    }

    /// By `tokens_by_age`: a range of the index, never a scan of the table.
    func countTokens(kind: Kind, createdBefore cutoff: Int64) throws -> Int {
        try db.queryOne(
            "SELECT count(*) FROM tokens WHERE kind = $1 AND created_at < $2",
            [.text(kind.rawValue), .int(cutoff)],
            what: "counting expired tokens"
        ) { try $0.int(0) } ?? 0
    }

    // MARK: Writing

    func insertSubject(name: String, kekVersion: Int, dekVersion: Int, wrappedKey: [UInt8]) throws -> Int64 {
        let id = try db.queryOne(
            """
            INSERT INTO subjects(name, kek_version, dek_version, wrapped_key, created_at)
            VALUES ($1, $2, $3, $4, \(Self.now)) RETURNING id
            """,
            [.text(name), .int(kekVersion), .int(dekVersion), .bytes(wrappedKey)],
            what: "inserting a subject"
        ) { try $0.int64(0) }
        guard let id else { throw VaultError(.internal, "inserting a subject returned no id") }
        return id
    }

    /// A subject that no longer exists (erased meanwhile) is left alone: there is nothing to rewrap.
    func updateWrappedKey(subjectID: Int64, kekVersion: Int, wrappedKey: [UInt8]) throws {
        try db.execute(
            "UPDATE subjects SET kek_version = $1, wrapped_key = $2 WHERE id = $3",
            [.int(kekVersion), .bytes(wrappedKey), .int(subjectID)],
            what: "rewrapping a data key"
        )
    }

    /// Live rows by the partial lookup index, then erased ones by the tombstones' primary key: one statement.
    func tokenExists(lookup: [UInt8]) throws -> Bool {
        try db.queryOne(
            """
            SELECT EXISTS (SELECT 1 FROM tokens WHERE lookup = $1 AND NOT addressed)
                OR EXISTS (SELECT 1 FROM token_tombstones WHERE lookup = $1)
            """,
            [.bytes(lookup)],
            what: "checking a token lookup"
        ) { try $0.bool(0) } ?? false
    }

    /// Read once per group from the `token_ids` counter (never behind the largest id in `tokens`, so rows
    /// copied in with their ids are never shadowed), then counted on in memory: the group holds the writers'
    /// lock, so no other server inserts meanwhile. The group writes the count back before it commits
    /// (`PostgresWriteConnection.commitGroup`), in the same transaction: a group rolled back hands its ids out
    /// again, as the contract allows; a committed one never.
    func nextTokenID() throws -> Int64 {
        let last: Int64
        if let known = group?.lastTokenID {
            last = known
        } else {
            last =
                try db.queryOne(
                    """
                    SELECT GREATEST((SELECT last_id FROM token_ids WHERE id = 1),
                                    (SELECT coalesce(max(id), 0) FROM tokens))
                    """,
                    what: "reading the last token id"
                ) { try $0.int64(0) } ?? 0
        }
        guard last < Int64.max else { throw VaultError(.internal, "the token ids are used up") }
        group?.lastTokenID = last + 1
        return last + 1
    }

    /// A format-preserving row under a tombstoned lookup is refused here, in the store, even from a caller that
    /// skipped `tokenExists`; in the same statement as the insert (which then inserts nothing), so it costs no
    /// round trip. A second row for a lookup and subject breaks `tokens_by_lookup`'s uniqueness and fails.
    func insertToken(_ record: TokenRecord) throws {
        let guarded = record.mode == .formatPreserving && record.addressing == .lookup
        let arguments: [PostgresValue] = [
            .int(record.id), .int(record.addressing == .id ? 1 : 0), .bytes(record.lookup),
            .int(record.subjectID), .text(record.kind.rawValue), .text(record.mode.rawValue),
            .bytes(record.sealed), .optionalText(StoredRows.encodePurposes(record.limits.purposes)),
            .optionalInt(record.limits.expiresAt), .optionalInt(record.limits.maxReveals.map(Int64.init)),
            .int(record.reveals), .int(record.createdAt),
        ]
        // Only the guarded insert's count is checked: a plain one inserts its row or fails.
        try insert(
            guarded ? Self.insertGuardedToken : Self.insertToken,
            arguments,
            what: "inserting a token",
            rows: guarded ? 1 : nil,
            otherwise: Self.reissuedToken
        )
    }

    /// Runs a statement whose only answer is how many rows it changed: in a write group, sent without waiting
    /// and answered at the job's end with everything else the job sent (`PostgresConnection.executeLater`: no
    /// round trip per row); outside one, at once. `rows`, if given, is how many it must change, else it throws
    /// `mismatch`.
    private func insert(
        _ sql: String,
        _ arguments: [PostgresValue],
        what: String,
        rows: Int? = nil,
        otherwise mismatch: VaultError? = nil
    ) throws {
        if group != nil {
            try db.executeLater(sql, arguments, what: what, rows: rows, otherwise: mismatch)
            return
        }
        let changed = try db.execute(sql, arguments, what: what)
        if let rows, changed != rows {
            throw mismatch ?? PostgresConnection.wrongRowCount(what, changed: changed, expected: rows)
        }
    }

    private static let reissuedToken = VaultError(
        .internal,
        "a format-preserving token of an erased subject was about to be issued again",
        hint: "report this with the server log; nothing was stored"
    )

    private static let tokenInsertColumns = """
        INSERT INTO tokens(id, addressed, lookup, subject_id, kind, mode, sealed, purposes, expires_at, max_reveals,
                           reveals, created_at)
        """

    private static let insertToken =
        tokenInsertColumns + " VALUES ($1, $2 = 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"

    private static let insertGuardedToken =
        tokenInsertColumns + """
             SELECT $1, $2 = 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
            WHERE NOT EXISTS (SELECT 1 FROM token_tombstones WHERE lookup = $3)
            """

    /// One statement, and row-locking: two servers' claims on the same row queue on its lock, and the second
    /// re-checks `reveals < max_reveals` against the first's committed count (READ COMMITTED re-evaluates the
    /// condition on the new row version), so a token with max_reveals N is revealed at most N times.
    func claimReveal(tokenID: Int64) throws -> Bool {
        try db.execute(
            "UPDATE tokens SET reveals = reveals + 1 WHERE id = $1 AND (max_reveals IS NULL OR reveals < max_reveals)",
            [.int(tokenID)],
            what: "counting a reveal"
        ) == 1
    }

    func eraseSubject(named name: String) throws -> Int {
        guard
            let id = try db.queryOne(
                "SELECT id FROM subjects WHERE name = $1",
                [.text(name)],
                what: "finding the subject to erase",
                row: { try $0.int64(0) }
            )
        else { return 0 }
        // Tombstones first, while the rows are still there (see `SQLiteAccess.eraseSubject`).
        try db.execute(
            """
            INSERT INTO token_tombstones(lookup, erased_at)
            SELECT lookup, \(Self.now) FROM tokens
            WHERE subject_id = $1 AND NOT addressed AND mode = 'format-preserving'
            ON CONFLICT DO NOTHING
            """,
            [.int(id)],
            what: "keeping tombstones of a subject's tokens"
        )
        // Explicit deletes, to count the tokens; the foreign keys' cascades still guard against leftovers.
        let tokens = try db.execute(
            "DELETE FROM tokens WHERE subject_id = $1",
            [.int(id)],
            what: "erasing a subject's tokens"
        )
        try db.execute(
            "DELETE FROM idempotency WHERE subject_id = $1",
            [.int(id)],
            what: "erasing a subject's idempotency records"
        )
        try db.execute("DELETE FROM subjects WHERE id = $1", [.int(id)], what: "erasing a subject")
        return tokens
    }

    func auditHead() throws -> AuditRow? {
        try GroupMemory.remembered(in: group, \.head) {
            try db.queryOne(
                "SELECT \(StoredRows.auditColumns) FROM audit ORDER BY seq DESC LIMIT 1",
                what: "reading the audit head",
                row: StoredRows.auditRow
            )
        }
    }

    /// A record whose `seq` already exists is refused (primary key), so the chain cannot fork. The record and
    /// its entries in the index by subject go in one statement: the references travel as one `bytea`, 16 bytes
    /// each end to end, cut apart by the server.
    func appendAudit(_ row: AuditRow) throws {
        let refs = Self.joinedReferences(row.subjectRefs)
        var arguments: [PostgresValue] = [.int(row.seq), .bytes(row.prev), .bytes(row.hash), .text(row.body)]
        if !refs.isEmpty { arguments.append(.bytes(refs)) }
        // In a write group a refused `seq` fails the job at its end, where the answer is read.
        try insert(
            refs.isEmpty ? Self.appendRecord : Self.appendIndexedRecord,
            arguments,
            what: "appending an audit record"
        )
        group?.head = .some(row)
    }

    private static let appendRecord = "INSERT INTO audit(seq, prev, hash, body) VALUES ($1, $2, $3, $4)"

    private static let appendIndexedRecord = """
        WITH record AS (INSERT INTO audit(seq, prev, hash, body) VALUES ($1, $2, $3, $4) RETURNING seq)
        INSERT INTO audit_subjects(subject_ref, seq)
        SELECT substring($5 FROM i * 16 + 1 FOR 16), record.seq
        FROM record, generate_series(0, length($5) / 16 - 1) AS i
        ON CONFLICT DO NOTHING
        """

    /// A record's references, end to end; a reference of another length (never made by cvault) is left out.
    static func joinedReferences(_ refs: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(refs.count * 16)
        for ref in refs where ref.count == 16 { out += ref }
        return out
    }

    func lastAuditSeal() throws -> AuditSeal? {
        try GroupMemory.remembered(in: group, \.seal) {
            try db.queryOne(
                "SELECT \(StoredRows.auditSealColumns) FROM audit_seals ORDER BY seq DESC LIMIT 1",
                what: "reading the last audit seal",
                row: StoredRows.auditSeal
            )
        }
    }

    func appendAuditSeal(_ seal: AuditSeal) throws {
        try db.execute(
            "INSERT INTO audit_seals(seq, hash, signature, at) VALUES ($1, $2, $3, $4)",
            [.int(seal.seq), .bytes(seal.hash), .bytes(seal.signature), .int(seal.at)],
            what: "appending an audit seal"
        )
        group?.seal = .some(seal)
    }

    /// Inserts or replaces the record for its key: the caller looks the key up first in the same write and
    /// decides (a replay returns the stored answer; an expired record may be replaced).
    func putIdempotency(_ record: IdempotencyRecord) throws {
        try db.execute(
            """
            INSERT INTO idempotency(key_hash, subject_id, request_mac, sealed_response, created_at)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (key_hash) DO UPDATE SET subject_id = excluded.subject_id, request_mac = excluded.request_mac,
                sealed_response = excluded.sealed_response, created_at = excluded.created_at
            """,
            [
                .bytes(record.keyHash), .int(record.subjectID), .bytes(record.requestMAC),
                .bytes(record.sealedResponse), .int(record.createdAt),
            ],
            what: "storing an idempotent response"
        )
    }

    /// Oldest first, by `idempotency_by_age`: a bounded delete that never scans the table.
    func purgeIdempotency(createdBefore cutoff: Int64, limit: Int) throws -> Int {
        try db.execute(
            """
            DELETE FROM idempotency WHERE key_hash IN
                (SELECT key_hash FROM idempotency WHERE created_at < $1 ORDER BY created_at LIMIT $2)
            """,
            [.int(cutoff), .int(max(0, limit))],
            what: "purging expired idempotency records"
        )
    }

    // MARK: Writing the customer's rights

    func insertSubjectWithoutKey(name: String) throws -> Int64 {
        try insertSubject(name: name, kekVersion: 0, dekVersion: 0, wrappedKey: [])
    }

    /// Only a subject without a data key gets one: a key in use is never replaced (that would orphan its
    /// values); rewrap uses `updateWrappedKey`.
    func replaceDataKey(subjectID: Int64, kekVersion: Int, dekVersion: Int, wrappedKey: [UInt8]) throws {
        let changed = try db.execute(
            """
            UPDATE subjects SET kek_version = $1, dek_version = $2, wrapped_key = $3
            WHERE id = $4 AND length(wrapped_key) = 0
            """,
            [.int(kekVersion), .int(dekVersion), .bytes(wrappedKey), .int(subjectID)],
            what: "giving a subject a data key"
        )
        guard changed == 1 else {
            throw VaultError(.internal, "a subject that already has a data key was about to get another")
        }
    }

    /// The latest decision and the history row in one statement; the history row's trigger
    /// (`consent_decided`) tells in-flight reveals that a decision changed.
    func recordConsent(_ record: ConsentRecord) throws {
        try db.execute(
            """
            WITH latest AS (
                INSERT INTO consents(subject_id, purpose, state, at, source, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (subject_id, purpose) DO UPDATE SET
                    state = excluded.state, at = excluded.at, source = excluded.source, expires_at = excluded.expires_at
            )
            INSERT INTO consent_history(subject_id, purpose, state, at, source, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            """,
            [
                .int(record.subjectID), .text(record.purpose.name), .text(record.state.rawValue), .int(record.at),
                .text(record.source), .optionalInt(record.expiresAt),
            ],
            what: "recording a consent decision"
        )
    }

    func setRestriction(subjectID: Int64, _ restriction: Restriction?) throws {
        try db.execute(
            "UPDATE subjects SET restricted_at = $1, restriction_reason = $2 WHERE id = $3",
            [.optionalInt(restriction?.since), .optionalText(restriction?.reason), .int(subjectID)],
            what: "setting a subject's restriction"
        )
    }

    /// Oldest first by `tokens_by_age`: the batch's tombstones and deletes in one statement, which answers the
    /// subjects touched; then each of those subjects left with no token loses its data key and stored answers
    /// (one statement each). `erasures.generation` moves, so an in-flight reveal that read one of these rows
    /// re-checks its subject.
    func purgeTokens(kind: Kind, createdBefore cutoff: Int64, limit: Int) throws -> PurgedTokens {
        let touched = try db.query(
            """
            WITH expired AS (
                SELECT id, subject_id, lookup, addressed, mode FROM tokens
                WHERE kind = $1 AND created_at < $2 ORDER BY created_at, id LIMIT $3
            ), kept AS (
                INSERT INTO token_tombstones(lookup, erased_at)
                SELECT lookup, \(Self.now) FROM expired WHERE NOT addressed AND mode = 'format-preserving'
                ON CONFLICT DO NOTHING
            ), gone AS (
                DELETE FROM tokens t USING expired e WHERE t.id = e.id RETURNING t.subject_id
            )
            SELECT subject_id, count(*) FROM gone GROUP BY subject_id ORDER BY subject_id
            """,
            [.text(kind.rawValue), .int(cutoff), .int(max(0, limit))],
            what: "purging expired tokens"
        ) { (subject: try $0.int64(0), tokens: try $0.int(1)) }
        guard !touched.isEmpty else { return PurgedTokens(tokens: 0, dataKeys: 0) }
        var dataKeys = 0
        for subject in touched {
            let destroyed =
                try db.queryOne(
                    """
                    WITH emptied AS (
                        UPDATE subjects SET wrapped_key = '\\x'::bytea
                        WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM tokens WHERE subject_id = $1) RETURNING id
                    ), answers AS (
                        DELETE FROM idempotency WHERE subject_id IN (SELECT id FROM emptied)
                    )
                    SELECT count(*) FROM emptied
                    """,
                    [.int(subject.subject)],
                    what: "destroying the data key of a subject with no tokens"
                ) { try $0.int(0) } ?? 0
            dataKeys += destroyed
        }
        try db.execute("UPDATE erasures SET generation = generation + 1 WHERE id = 1", what: "recording a purge")
        return PurgedTokens(
            tokens: touched.reduce(0) { $0 + $1.tokens },
            dataKeys: dataKeys,
            subjectIDs: touched.map(\.subject)
        )
    }

    func renewToken(id: Int64, createdAt: Int64) throws {
        try db.execute(
            "UPDATE tokens SET created_at = $1 WHERE id = $2",
            [.int(createdAt), .int(id)],
            what: "renewing a token's retention"
        )
    }
}
