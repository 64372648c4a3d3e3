import VaultCore

/// The database schema as an ordered list of migrations. `PRAGMA user_version` holds how many have been
/// applied; each is applied in a transaction of its own, so a crash leaves the schema at a whole version.
enum Schema {
    /// `PRAGMA application_id`, "cvlt": tells a cvault database from any other SQLite file.
    static let applicationID: Int64 = 0x6376_6C74

    /// Migration N (1-based) brings the schema from version N-1 to N. Append only; never edit a shipped one.
    static let migrations: [[String]] = [version1, version2, version3, version4]

    /// The version this code writes and understands.
    static var latestVersion: Int { migrations.count }

    /// Version 1. Differences from a plain layout, and why:
    /// - Every table is STRICT: a value of the wrong type is refused instead of silently stored, so a bug can
    ///   never write, say, a text lookup that no blob query would find.
    /// - `subjects.id` is AUTOINCREMENT: an id is never reused after an erase, so a subject id in the audit
    ///   log or in an old backup always means one subject.
    /// - `tokens` and `idempotency` are WITHOUT ROWID: they are found only by their blob key, so the table is
    ///   the key's B-tree and there is no second index to write.
    /// - `tokens.purposes` is a comma-separated list (purpose names are `[a-z0-9-]+`); NULL means no
    ///   restriction and the empty string means no purpose at all.
    static let version1: [String] = [
        """
        CREATE TABLE subjects(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            kek_version INTEGER NOT NULL,
            dek_version INTEGER NOT NULL,
            wrapped_key BLOB NOT NULL,
            created_at INTEGER NOT NULL
        ) STRICT
        """,
        // Key rotation finds the subjects still wrapped by an old KEK, and `stats` counts keys per KEK.
        "CREATE INDEX subjects_by_kek ON subjects(kek_version)",
        """
        CREATE TABLE tokens(
        \(tokenColumns),
            PRIMARY KEY(lookup, subject_id)
        ) WITHOUT ROWID, STRICT
        """,
        // Erasing a subject deletes its tokens by subject; without this index that is a full table scan.
        "CREATE INDEX tokens_by_subject ON tokens(subject_id)",
        """
        CREATE TABLE audit(
            seq INTEGER PRIMARY KEY,
            prev BLOB NOT NULL,
            hash BLOB NOT NULL,
            body TEXT NOT NULL
        ) STRICT
        """,
        """
        CREATE TABLE audit_seals(
            seq INTEGER PRIMARY KEY,
            hash BLOB NOT NULL,
            signature BLOB NOT NULL,
            at INTEGER NOT NULL
        ) STRICT
        """,
        """
        CREATE TABLE idempotency(
            key_hash BLOB PRIMARY KEY,
            request_hash BLOB NOT NULL,
            sealed_response BLOB NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID, STRICT
        """,
        "PRAGMA application_id = \(applicationID)",
    ]

    /// The columns of the tokens table in every version, in order (version 2 puts `id` and `addressed` before
    /// them). The text of an old version must stay as it was, so both versions share it rather than copy it.
    static let tokenColumns = """
            lookup BLOB NOT NULL,
            subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            mode TEXT NOT NULL,
            sealed BLOB NOT NULL,
            purposes TEXT,
            expires_at INTEGER,
            max_reveals INTEGER,
            reveals INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL
        """

    /// Version 2: token rows get an integer id, and opaque tokens carry their row's id
    /// (`TokenFormat.opaque(id:key:)`), so their rows are appended in id order and found by id. In version 1
    /// every row was keyed by its lookup, a keyed hash, so each new token landed on a random leaf of the
    /// table's B-tree, and a group commit wrote about one page per token.
    /// - `id` is AUTOINCREMENT: an id is never reused, even after an erase, so a token handed out before an
    ///   erase can never name a later row (its look-up key would not match either).
    /// - `addressed` says how the row is found: 1 by the id its token carries, 0 by lookup (deterministic and
    ///   format-preserving tokens, and every token made before this version). Only the latter are in the
    ///   lookup index, which is therefore partial: opaque tokens add nothing to it.
    /// - Rows from version 1 are copied in with `addressed = 0`, so every token already handed out keeps
    ///   working. The copy rewrites the table once, at the first open by this version.
    /// - `addressed` defaults to 0, so an older cvault still running against the upgraded file (against the
    ///   runbook) inserts rows it can find again, by lookup, instead of failing.
    static let version2: [String] = [
        """
        CREATE TABLE tokens_v2(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            addressed INTEGER NOT NULL DEFAULT 0 CHECK (addressed IN (0, 1)),
        \(tokenColumns)
        ) STRICT
        """,
        """
        INSERT INTO tokens_v2(addressed, lookup, subject_id, kind, mode, sealed, purposes, expires_at, max_reveals,
                              reveals, created_at)
        SELECT 0, lookup, subject_id, kind, mode, sealed, purposes, expires_at, max_reveals, reveals, created_at
        FROM tokens ORDER BY subject_id, lookup
        """,
        "DROP TABLE tokens",
        "ALTER TABLE tokens_v2 RENAME TO tokens",
        // Erasing a subject deletes its tokens by subject.
        "CREATE INDEX tokens_by_subject ON tokens(subject_id)",
        // Tokens found by lookup; one row per lookup and subject (deterministic tokens are shared by subjects).
        "CREATE UNIQUE INDEX tokens_by_lookup ON tokens(lookup, subject_id) WHERE addressed = 0",
    ]

    /// Version 3: nothing on disk is an unkeyed digest of a value, idempotency records die with their subject
    /// and expire, and erased format-preserving tokens are never issued again.
    /// - `idempotency` is remade. Version 1 kept `request_hash`, an unkeyed BLAKE2b over the request's
    ///   public fields and its values: from the file alone a date of birth fell to a guess in a second. Its
    ///   rows cannot be converted (the values are not kept), so they are deleted first, with secure_delete on
    ///   (as on every connection), which overwrites them with zeros; `SQLiteStore` then checkpoints with
    ///   TRUNCATE, so no copy stays in the WAL either. An idempotent retry across the upgrade makes new tokens.
    /// - `request_mac` is a keyed BLAKE2b (`Binding.requestMAC`); `sealed_response` is sealed under the
    ///   subject's data key, so erasing the subject shreds it; `subject_id` cascades, so the row goes with its
    ///   subject; `idempotency_by_age` lets expired rows be purged oldest first without a scan.
    /// - `erasures` counts erased subjects (a trigger, so no path can delete a subject without counting it):
    ///   `SQLiteStore.readThenWrite` compares the count at a reader's snapshot with the writer's, so the write
    ///   knows, with one query, whether rows the read found may have been erased since.
    /// - `token_tombstones` keeps the lookup (a keyed hash of the token string) of every erased token whose
    ///   string is drawn from a small space, so that string is never issued to another subject
    ///   (`StoreWriter.tokenExists`), and `insertToken` refuses such a row even from a caller that skipped the
    ///   check. Not a trigger: an INSERT trigger on `tokens` made every insert about 10 µs slower.
    static let version3: [String] = [
        "DELETE FROM idempotency",
        "DROP TABLE idempotency",
        """
        CREATE TABLE idempotency(
            key_hash BLOB PRIMARY KEY,
            subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
            request_mac BLOB NOT NULL,
            sealed_response BLOB NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID, STRICT
        """,
        // Erasing a subject deletes its records by subject.
        "CREATE INDEX idempotency_by_subject ON idempotency(subject_id)",
        // Expired records are purged oldest first, a few at a time.
        "CREATE INDEX idempotency_by_age ON idempotency(created_at)",
        """
        CREATE TABLE token_tombstones(
            lookup BLOB PRIMARY KEY,
            erased_at INTEGER NOT NULL
        ) WITHOUT ROWID, STRICT
        """,
        "CREATE TABLE erasures(id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL) STRICT",
        "INSERT INTO erasures(id, generation) VALUES (1, 0)",
        """
        CREATE TRIGGER subjects_erased AFTER DELETE ON subjects
        BEGIN
            UPDATE erasures SET generation = generation + 1 WHERE id = 1;
        END
        """,
    ]

    /// Version 4: the customer's rights (docs/PRIVACY.md).
    /// - `subjects.restricted_at` and `restriction_reason`: a restriction of processing, on the row every
    ///   reveal already joins, so judging it costs no query. A subject may now have no data key
    ///   (`wrapped_key` empty): known by a consent decision first, or left with no token by retention.
    /// - `consents` holds each subject's latest decision per purpose (what the gate reads, by its primary key);
    ///   `consent_history` every decision in order (what a report shows). Both go with their subject.
    /// - `audit_subjects` indexes each audit record under the keyed references of the subjects its body names
    ///   (`subject_refs`), so a subject's records are found by a range of this table's key, never by reading
    ///   the log. Records written before this version name no references and are not indexed. A record's
    ///   entries are first appended to `audit_subjects_pending`, in the record's own transaction (so they are
    ///   as durable as it), as one row per record (its references, 16 bytes each, end to end) at the end of a
    ///   table keyed by `seq`: one statement per record, one or two pages per commit. Inserted
    ///   straight into `audit_subjects`, whose key starts with a random reference, every entry landed on a
    ///   page of its own, and a detokenize of 256 subjects wrote 256 pages to the WAL (it halved that
    ///   scenario's throughput). The writer moves the pending entries over in one sorted batch once
    ///   `SubjectIndex.mergeEvery` have gathered (`SubjectIndex.merge`), so each page of the index is written
    ///   once per batch; a look-up reads both tables, the pending one being small.
    /// - `tokens_by_age` lets retention find a kind's oldest tokens without a scan. Within a kind, new rows
    ///   land at the right edge of the index, so it costs a tokenize little.
    /// - `erasures.generation` now counts every change that can make a reveal's earlier read stale (an erase,
    ///   a consent decision, a restriction set or lifted, a retention purge), each by a trigger or the purge's
    ///   own statement, so `SQLiteStore.readThenWrite` tells the write `.changedSince` after any of them.
    static let version4: [String] = [
        "ALTER TABLE subjects ADD COLUMN restricted_at INTEGER",
        "ALTER TABLE subjects ADD COLUMN restriction_reason TEXT",
        """
        CREATE TABLE consents(
            subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
            purpose TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('granted', 'withdrawn')),
            at INTEGER NOT NULL,
            source TEXT NOT NULL,
            expires_at INTEGER,
            PRIMARY KEY(subject_id, purpose)
        ) WITHOUT ROWID, STRICT
        """,
        """
        CREATE TABLE consent_history(
            id INTEGER PRIMARY KEY,
            subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
            purpose TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('granted', 'withdrawn')),
            at INTEGER NOT NULL,
            source TEXT NOT NULL,
            expires_at INTEGER
        ) STRICT
        """,
        "CREATE INDEX consent_history_by_subject ON consent_history(subject_id, id)",
        """
        CREATE TABLE audit_subjects(
            subject_ref BLOB NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY(subject_ref, seq)
        ) WITHOUT ROWID, STRICT
        """,
        """
        CREATE TABLE audit_subjects_pending(
            seq INTEGER PRIMARY KEY,
            subject_refs BLOB NOT NULL
        ) STRICT
        """,
        "CREATE INDEX tokens_by_age ON tokens(kind, created_at)",
        """
        CREATE TRIGGER consent_decided AFTER INSERT ON consent_history
        BEGIN
            UPDATE erasures SET generation = generation + 1 WHERE id = 1;
        END
        """,
        """
        CREATE TRIGGER subjects_restricted AFTER UPDATE OF restricted_at ON subjects
        BEGIN
            UPDATE erasures SET generation = generation + 1 WHERE id = 1;
        END
        """,
    ]

    /// Brings the database up to `latestVersion`. Called on the writer connection before any store thread
    /// starts. `fresh` is true for a database `SQLiteStore.create` has just made; any other database must
    /// already be a cvault one. True if an existing database was upgraded (it may have deleted rows).
    @discardableResult
    static func migrate(_ db: SQLiteConnection, fresh: Bool) throws -> Bool {
        let found = try version(of: db)
        if !fresh { try checkIsVault(db, version: found) }
        if found > latestVersion {
            throw VaultError(
                .storage,
                "the database \(db.path) has schema version \(found), newer than this cvault understands "
                    + "(\(latestVersion))",
                hint: "use the cvault release that last wrote this database, or a newer one; do not downgrade"
            )
        }
        guard found < latestVersion else { return false }
        for target in (found + 1)...latestVersion {
            try apply(target, to: db)
        }
        db.forgetStatements()
        return !fresh
    }

    static func version(of db: SQLiteConnection) throws -> Int {
        try db.queryOne("PRAGMA user_version", what: "reading the schema version") { $0.int(0) } ?? 0
    }

    /// Refuses a file that is some other program's SQLite database, or an empty file left by an interrupted
    /// `create`: opening must never turn a file into a vault.
    private static func checkIsVault(_ db: SQLiteConnection, version: Int) throws {
        let id = try db.queryOne("PRAGMA application_id", what: "reading the application id") { $0.int64(0) } ?? 0
        if id == applicationID && version > 0 { return }
        let tables =
            try db.queryOne("SELECT count(*) FROM sqlite_schema", what: "reading the schema") {
                $0.int(0)
            } ?? 0
        if version == 0 && tables == 0 {
            throw VaultError(
                .notInitialized,
                "\(db.path) holds no vault (the database is empty)",
                hint: "if an earlier `cvault init` was interrupted, remove \(db.path) and run `cvault init` again"
            )
        }
        throw VaultError(
            .storage,
            "\(db.path) is not a cvault database",
            hint: "check the path; cvault will not change a database it did not create"
        )
    }

    /// Applies one migration in its own transaction. BEGIN IMMEDIATE takes the write lock before reading
    /// the version, so two processes opening the same old database cannot both apply it.
    private static func apply(_ target: Int, to db: SQLiteConnection) throws {
        try db.execute("BEGIN IMMEDIATE", what: "starting schema migration \(target)")
        do {
            if try version(of: db) < target {
                for sql in migrations[target - 1] {
                    try db.execute(sql, what: "applying schema migration \(target)")
                }
                try db.execute("PRAGMA user_version = \(target)", what: "recording schema version \(target)")
            }
            try db.execute("COMMIT", what: "committing schema migration \(target)")
        } catch {
            if !db.isAutocommit { try? db.execute("ROLLBACK", what: "rolling back schema migration \(target)") }
            throw error
        }
    }
}
