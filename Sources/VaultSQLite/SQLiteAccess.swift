import VaultCore
import VaultStoreRuntime

/// The store's rows as seen through one connection: what `read` and `write` closures receive. Read closures
/// get it on a `query_only` connection, so even a cast to `StoreWriter` cannot change anything there.
struct SQLiteAccess: StoreWriter, ChangeCounting {
    let db: SQLiteConnection
    /// The writer's memory within one group's transaction (nil for readers and maintenance).
    var group: GroupMemory? = nil

    // MARK: Reading

    // Built once: the SQL text is the statement cache's key, so it should not be rebuilt on every call.
    private static let tokenByID = StoredRows.storedTokenSelect + " WHERE t.id = ? AND t.addressed = 1"
    // `addressed = 0` lets SQLite use the partial index tokens_by_lookup, which orders a lookup's rows by
    // subject, oldest first.
    private static let tokensByLookup =
        StoredRows.storedTokenSelect + " WHERE t.lookup = ? AND t.addressed = 0 ORDER BY t.subject_id"
    private static let tokensAfterID = StoredRows.storedTokenSelect + " WHERE t.id > ? ORDER BY t.id LIMIT ?"
    private static let tokensOfSubject = StoredRows.storedTokenSelect + " WHERE t.subject_id = ? ORDER BY t.id"

    func token(id: Int64) throws -> StoredToken? {
        try db.queryOne(Self.tokenByID, [.int(id)], what: "looking up a token", row: StoredRows.storedToken)
    }

    func tokens(lookup: [UInt8]) throws -> [StoredToken] {
        try db.query(Self.tokensByLookup, [.blob(lookup)], what: "looking up a token", row: StoredRows.storedToken)
    }

    func subject(named name: String) throws -> SubjectRecord? {
        try db.queryOne(
            "SELECT \(StoredRows.subjectColumns) FROM subjects WHERE name = ?",
            [.text(name)],
            what: "looking up a subject",
            row: StoredRows.subject
        )
    }

    func stats() throws -> StoreStats {
        let counts =
            try db.queryOne(
                "SELECT (SELECT count(*) FROM subjects), (SELECT count(*) FROM tokens), (SELECT count(*) FROM audit)",
                what: "counting rows"
            ) { ($0.int(0), $0.int(1), $0.int(2)) } ?? (0, 0, 0)
        let byKEK = try db.query(
            "SELECT kek_version, count(*) FROM subjects WHERE length(wrapped_key) > 0 GROUP BY kek_version",
            what: "counting data keys per KEK"
        ) { ($0.int(0), $0.int(1)) }
        return StoreStats(
            subjects: counts.0,
            tokens: counts.1,
            auditRecords: counts.2,
            dataKeysByKEK: Dictionary(uniqueKeysWithValues: byKEK)
        )
    }

    func auditRows(from: Int64, limit: Int) throws -> [AuditRow] {
        try db.query(
            "SELECT \(StoredRows.auditColumns) FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?",
            [.int(from), .int(limit)],
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
            WHERE id > ? AND kek_version <> ? AND length(wrapped_key) > 0 ORDER BY id LIMIT ?
            """,
            [.int(id), .int(version), .int(limit)],
            what: "listing subjects to rewrap",
            row: StoredRows.subject
        )
    }

    func allTokens(after cursor: TokenCursor?, limit: Int) throws -> (tokens: [StoredToken], next: TokenCursor?) {
        let page = try db.query(
            Self.tokensAfterID,
            [.int(cursor?.id ?? 0), .int(limit)],
            what: "listing tokens",
            row: StoredRows.storedToken
        )
        return (page, StoredRows.cursor(after: page, limit: limit))
    }

    func idempotency(keyHash: [UInt8]) throws -> IdempotencyRecord? {
        try db.queryOne(
            "SELECT key_hash, subject_id, request_mac, sealed_response, created_at FROM idempotency WHERE key_hash = ?",
            [.blob(keyHash)],
            what: "looking up an idempotency key"
        ) {
            IdempotencyRecord(
                keyHash: $0.blob(0),
                subjectID: $0.int64(1),
                requestMAC: $0.blob(2),
                sealedResponse: $0.blob(3),
                createdAt: $0.int64(4)
            )
        }
    }

    /// How many changes that can make a reveal's earlier read stale ever committed (`erasures`, kept by
    /// triggers and the purge). One row, by its primary key.
    func changeGeneration() throws -> Int64 {
        try db.queryOne("SELECT generation FROM erasures WHERE id = 1", what: "reading the erase count") {
            $0.int64(0)
        } ?? 0
    }

    /// By the primary key: one B-tree probe.
    func subjectExists(id: Int64) throws -> Bool {
        try db.queryOne("SELECT 1 FROM subjects WHERE id = ?", [.int(id)], what: "checking a subject") { _ in true }
            ?? false
    }

    // MARK: Reading the customer's rights

    func subject(id: Int64) throws -> SubjectRecord? {
        try db.queryOne(
            "SELECT \(StoredRows.subjectColumns) FROM subjects WHERE id = ?",
            [.int(id)],
            what: "looking up a subject",
            row: StoredRows.subject
        )
    }

    /// By the primary key of `consents`: one B-tree probe.
    func consent(subjectID: Int64, purpose: Purpose) throws -> ConsentRecord? {
        try db.queryOne(
            "SELECT \(StoredRows.consentColumns) FROM consents WHERE subject_id = ? AND purpose = ?",
            [.int(subjectID), .text(purpose.name)],
            what: "reading a consent decision",
            row: StoredRows.consent
        )
    }

    func consents(subjectID: Int64) throws -> [ConsentRecord] {
        try db.query(
            "SELECT \(StoredRows.consentColumns) FROM consents WHERE subject_id = ? ORDER BY purpose",
            [.int(subjectID)],
            what: "reading consent decisions",
            row: StoredRows.consent
        )
    }

    func consentHistory(subjectID: Int64) throws -> [ConsentRecord] {
        try db.query(
            "SELECT \(StoredRows.consentColumns) FROM consent_history WHERE subject_id = ? ORDER BY id",
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

    /// A range of `audit_subjects`' primary key, and the few records whose entries are still pending
    /// (`SubjectIndex`), joined to the records by their primary key.
    func auditRows(concerning subjectRef: [UInt8], after seq: Int64, limit: Int) throws -> [AuditRow] {
        guard limit > 0 else { return [] }
        let indexed = try db.query(
            "SELECT seq FROM audit_subjects WHERE subject_ref = ? AND seq > ? ORDER BY seq LIMIT ?",
            [.blob(subjectRef), .int(seq), .int(Int64(limit))],
            what: "reading a subject's audit records"
        ) { $0.int64(0) }
        let pending = try SubjectIndex.pendingRecords(db, after: seq, naming: subjectRef)
        let seqs = Array(Set(indexed + pending).sorted().prefix(limit))
        return try seqs.compactMap { seq in
            try db.queryOne(
                "SELECT \(StoredRows.auditColumns) FROM audit WHERE seq = ?",
                [.int(seq)],
                what: "reading a subject's audit records",
                row: StoredRows.auditRow
            )
        }
    }

    /// The index's primary key, then the record's pending row by its primary key.
    func auditRecord(_ seq: Int64, isIndexedUnder subjectRef: [UInt8]) throws -> Bool {
        let merged =
            try db.queryOne(
                "SELECT 1 FROM audit_subjects WHERE subject_ref = ? AND seq = ?",
                [.blob(subjectRef), .int(seq)],
                what: "checking the subject index"
            ) { _ in true } ?? false
        if merged { return true }
        let pending = try db.queryOne(
            "SELECT subject_refs FROM audit_subjects_pending WHERE seq = ?",
            [.int(seq)],
            what: "checking the subject index"
        ) { $0.blob(0) }
        return pending.map { SubjectIndex.names($0, subjectRef) } ?? false
    }

    /// By `tokens_by_age`: a range of the index, never a scan of the table.
    func countTokens(kind: Kind, createdBefore cutoff: Int64) throws -> Int {
        try db.queryOne(
            "SELECT count(*) FROM tokens WHERE kind = ? AND created_at < ?",
            [.text(kind.rawValue), .int(cutoff)],
            what: "counting expired tokens"
        ) { $0.int(0) } ?? 0
    }

    // MARK: Writing

    func insertSubject(name: String, kekVersion: Int, dekVersion: Int, wrappedKey: [UInt8]) throws -> Int64 {
        let id = try db.queryOne(
            """
            INSERT INTO subjects(name, kek_version, dek_version, wrapped_key, created_at)
            VALUES (?, ?, ?, ?, unixepoch()) RETURNING id
            """,
            [.text(name), .int(kekVersion), .int(dekVersion), .blob(wrappedKey)],
            what: "inserting a subject"
        ) { $0.int64(0) }
        guard let id else { throw VaultError(.internal, "inserting a subject returned no id") }
        return id
    }

    /// A subject that no longer exists (erased meanwhile) is left alone: there is nothing to rewrap.
    func updateWrappedKey(subjectID: Int64, kekVersion: Int, wrappedKey: [UInt8]) throws {
        try db.execute(
            "UPDATE subjects SET kek_version = ?, wrapped_key = ? WHERE id = ?",
            [.int(kekVersion), .blob(wrappedKey), .int(subjectID)],
            what: "rewrapping a data key"
        )
    }

    /// Live rows by the partial lookup index, then erased ones by the tombstones' primary key.
    func tokenExists(lookup: [UInt8]) throws -> Bool {
        try db.queryOne(Self.lookupTaken, [.blob(lookup)], what: "checking a token lookup") { _ in true } ?? false
    }

    private static let tombstoned = "SELECT 1 FROM token_tombstones WHERE lookup = ?"

    private static let lookupTaken = """
        SELECT 1 WHERE EXISTS (SELECT 1 FROM tokens WHERE lookup = ?1 AND addressed = 0)
                    OR EXISTS (SELECT 1 FROM token_tombstones WHERE lookup = ?1)
        """

    /// Read once per group from `sqlite_sequence`, which AUTOINCREMENT keeps at the largest id ever inserted
    /// (deleted rows included), then counted on in memory: the group holds the write lock, so nothing else
    /// inserts meanwhile. A job rolled back to its savepoint leaves the count ahead, which only skips ids.
    func nextTokenID() throws -> Int64 {
        let last: Int64
        if let known = group?.lastTokenID {
            last = known
        } else {
            last =
                try db.queryOne(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'tokens'",
                    what: "reading the last token id"
                ) { $0.int64(0) } ?? 0
        }
        group?.lastTokenID = last + 1
        return last + 1
    }

    /// A format-preserving row under a tombstoned lookup is refused here, in the store, even from a caller that
    /// skipped `tokenExists`. Checked in Swift rather than by a trigger: any INSERT trigger on `tokens` made every
    /// insert about 10 µs slower (measured), and only format-preserving rows need the check.
    func insertToken(_ record: TokenRecord) throws {
        if record.mode == .formatPreserving, record.addressing == .lookup,
            try db.queryOne(
                Self.tombstoned,
                [.blob(record.lookup)],
                what: "checking a token's tombstone",
                row: { _ in true }
            ) ?? false
        {
            throw VaultError(
                .internal,
                "a format-preserving token of an erased subject was about to be issued again",
                hint: "report this with the server log; nothing was stored"
            )
        }
        try db.execute(
            """
            INSERT INTO tokens(id, addressed, lookup, subject_id, kind, mode, sealed, purposes, expires_at, max_reveals,
                               reveals, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .int(record.id), .int(record.addressing == .id ? 1 : 0), .blob(record.lookup), .int(record.subjectID),
                .text(record.kind.rawValue), .text(record.mode.rawValue), .blob(record.sealed),
                .optionalText(StoredRows.encodePurposes(record.limits.purposes)), .optionalInt(record.limits.expiresAt),
                .optionalInt(record.limits.maxReveals.map(Int64.init)), .int(record.reveals), .int(record.createdAt),
            ],
            what: "inserting a token"
        )
    }

    func claimReveal(tokenID: Int64) throws -> Bool {
        // One statement, run by the single writer: the check and the increment cannot interleave with
        // another claim, so a token with max_reveals N is revealed at most N times.
        try db.execute(
            "UPDATE tokens SET reveals = reveals + 1 WHERE id = ? AND (max_reveals IS NULL OR reveals < max_reveals)",
            [.int(tokenID)],
            what: "counting a reveal"
        )
        return db.changes == 1
    }

    func eraseSubject(named name: String) throws -> Int {
        guard
            let id = try db.queryOne(
                "SELECT id FROM subjects WHERE name = ?",
                [.text(name)],
                what: "finding the subject to erase",
                row: { $0.int64(0) }
            )
        else { return 0 }
        // Tombstones first, while the rows are still there: a format-preserving token string, drawn from a
        // small space, must never be issued to another subject (`tokenExists`). Deterministic tokens are a
        // function of the value and are shared by design; opaque ones are never drawn twice.
        try db.execute(
            """
            INSERT OR IGNORE INTO token_tombstones(lookup, erased_at)
            SELECT lookup, unixepoch() FROM tokens WHERE subject_id = ? AND addressed = 0 AND mode = 'format-preserving'
            """,
            [.int(id)],
            what: "keeping tombstones of a subject's tokens"
        )
        // Delete the tokens explicitly (by the subject index) to count them: changes() ignores cascades.
        // The foreign key's cascade still guards against any token being left behind.
        try db.execute("DELETE FROM tokens WHERE subject_id = ?", [.int(id)], what: "erasing a subject's tokens")
        let tokens = db.changes
        // Its stored tokenize answers go too (the cascade would take them; explicit, like the tokens).
        try db.execute(
            "DELETE FROM idempotency WHERE subject_id = ?",
            [.int(id)],
            what: "erasing a subject's idempotency records"
        )
        try db.execute("DELETE FROM subjects WHERE id = ?", [.int(id)], what: "erasing a subject")
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

    /// A record whose `seq` already exists is refused (primary key), so the chain cannot fork.
    func appendAudit(_ row: AuditRow) throws {
        try db.execute(
            "INSERT INTO audit(seq, prev, hash, body) VALUES (?, ?, ?, ?)",
            [.int(row.seq), .blob(row.prev), .blob(row.hash), .text(row.body)],
            what: "appending an audit record"
        )
        // OR REPLACE: the record itself was just inserted under its seq, so a pending row already there is
        // left by a record that no longer exists (a log rewritten by someone who can write the file), not one
        // to keep. `audit verify` names such a rewrite from the chain.
        if !row.subjectRefs.isEmpty {
            try db.execute(
                "INSERT OR REPLACE INTO audit_subjects_pending(seq, subject_refs) VALUES (?, ?)",
                [.int(row.seq), .blob(SubjectIndex.joined(row.subjectRefs))],
                what: "indexing an audit record by subject"
            )
        }
        group?.subjectIndexEntries += row.subjectRefs.count
        group?.head = .some(row)
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
            "INSERT INTO audit_seals(seq, hash, signature, at) VALUES (?, ?, ?, ?)",
            [.int(seal.seq), .blob(seal.hash), .blob(seal.signature), .int(seal.at)],
            what: "appending an audit seal"
        )
        group?.seal = .some(seal)
    }

    /// Inserts or replaces the record for its key: the caller looks the key up first in the same write and
    /// decides (a replay returns the stored answer; an expired record may be replaced).
    func putIdempotency(_ record: IdempotencyRecord) throws {
        try db.execute(
            """
            INSERT OR REPLACE INTO idempotency(key_hash, subject_id, request_mac, sealed_response, created_at)
            VALUES (?, ?, ?, ?, ?)
            """,
            [
                .blob(record.keyHash), .int(record.subjectID), .blob(record.requestMAC), .blob(record.sealedResponse),
                .int(record.createdAt),
            ],
            what: "storing an idempotent response"
        )
    }

    /// Oldest first, by `idempotency_by_age`: a bounded delete that never scans the table.
    func purgeIdempotency(createdBefore cutoff: Int64, limit: Int) throws -> Int {
        try db.execute(
            """
            DELETE FROM idempotency WHERE key_hash IN
                (SELECT key_hash FROM idempotency WHERE created_at < ? ORDER BY created_at LIMIT ?)
            """,
            [.int(cutoff), .int(Int64(max(0, limit)))],
            what: "purging expired idempotency records"
        )
        return db.changes
    }

    // MARK: Writing the customer's rights

    func insertSubjectWithoutKey(name: String) throws -> Int64 {
        try insertSubject(name: name, kekVersion: 0, dekVersion: 0, wrappedKey: [])
    }

    /// Only a subject without a data key gets one: a key in use is never replaced (that would orphan its
    /// values); rewrap uses `updateWrappedKey`.
    func replaceDataKey(subjectID: Int64, kekVersion: Int, dekVersion: Int, wrappedKey: [UInt8]) throws {
        try db.execute(
            """
            UPDATE subjects SET kek_version = ?, dek_version = ?, wrapped_key = ?
            WHERE id = ? AND length(wrapped_key) = 0
            """,
            [.int(kekVersion), .int(dekVersion), .blob(wrappedKey), .int(subjectID)],
            what: "giving a subject a data key"
        )
        guard db.changes == 1 else {
            throw VaultError(.internal, "a subject that already has a data key was about to get another")
        }
    }

    /// The history row's trigger (`consent_decided`) tells in-flight reveals that a decision changed.
    func recordConsent(_ record: ConsentRecord) throws {
        let values: [SQLValue] = [
            .int(record.subjectID), .text(record.purpose.name), .text(record.state.rawValue), .int(record.at),
            .text(record.source), .optionalInt(record.expiresAt),
        ]
        try db.execute(
            """
            INSERT INTO consents(subject_id, purpose, state, at, source, expires_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(subject_id, purpose) DO UPDATE SET
                state = excluded.state, at = excluded.at, source = excluded.source, expires_at = excluded.expires_at
            """,
            values,
            what: "recording a consent decision"
        )
        try db.execute(
            "INSERT INTO consent_history(subject_id, purpose, state, at, source, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            values,
            what: "recording a consent decision"
        )
    }

    func setRestriction(subjectID: Int64, _ restriction: Restriction?) throws {
        try db.execute(
            "UPDATE subjects SET restricted_at = ?, restriction_reason = ? WHERE id = ?",
            [.optionalInt(restriction?.since), .optionalText(restriction?.reason), .int(subjectID)],
            what: "setting a subject's restriction"
        )
    }

    /// Oldest first by `tokens_by_age`. The subjects touched are collected before their tokens go, so only
    /// they are checked for a last token; `erasures.generation` moves, so an in-flight reveal that read one of
    /// these rows re-checks its subject.
    func purgeTokens(kind: Kind, createdBefore cutoff: Int64, limit: Int) throws -> PurgedTokens {
        let expired = try db.query(
            "SELECT id, subject_id FROM tokens WHERE kind = ? AND created_at < ? ORDER BY created_at, id LIMIT ?",
            [.text(kind.rawValue), .int(cutoff), .int(Int64(max(0, limit)))],
            what: "finding expired tokens"
        ) { ($0.int64(0), $0.int64(1)) }
        guard !expired.isEmpty else { return PurgedTokens(tokens: 0, dataKeys: 0) }
        for (id, _) in expired {
            try db.execute(
                """
                INSERT OR IGNORE INTO token_tombstones(lookup, erased_at)
                SELECT lookup, unixepoch() FROM tokens WHERE id = ? AND addressed = 0 AND mode = 'format-preserving'
                """,
                [.int(id)],
                what: "keeping the tombstone of an expired token"
            )
            try db.execute("DELETE FROM tokens WHERE id = ?", [.int(id)], what: "purging an expired token")
        }
        var dataKeys = 0
        let subjectIDs = Set(expired.map(\.1)).sorted()
        for subjectID in subjectIDs {
            let left =
                try db.queryOne(
                    "SELECT 1 FROM tokens WHERE subject_id = ? LIMIT 1",
                    [.int(subjectID)],
                    what: "checking a subject's tokens"
                ) { _ in true } ?? false
            guard !left else { continue }
            try db.execute(
                "DELETE FROM idempotency WHERE subject_id = ?",
                [.int(subjectID)],
                what: "purging a subject's idempotency records"
            )
            try db.execute(
                "UPDATE subjects SET wrapped_key = x'' WHERE id = ?",
                [.int(subjectID)],
                what: "destroying the data key of a subject with no tokens"
            )
            dataKeys += 1
        }
        try db.execute(
            "UPDATE erasures SET generation = generation + 1 WHERE id = 1",
            what: "recording a purge"
        )
        return PurgedTokens(tokens: expired.count, dataKeys: dataKeys, subjectIDs: subjectIDs)
    }

    func renewToken(id: Int64, createdAt: Int64) throws {
        try db.execute(
            "UPDATE tokens SET created_at = ? WHERE id = ?",
            [.int(createdAt), .int(id)],
            what: "renewing a token's retention"
        )
    }
}
