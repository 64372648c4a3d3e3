import VaultCore

/// The PostgreSQL schema: the same tables, keys and rules as the SQLite store's version 4
/// (`VaultSQLite/Schema.swift`, whose comments give the reasons for each), written for PostgreSQL, plus the
/// keyring kept in the database. Differences, and why:
/// - Integers are `bigint` and bytes `bytea` throughout, so every value crosses the wire in one binary form
///   (`PostgresRow` checks it); `tokens.addressed` is a `boolean`.
/// - Ids that must never come back after an erase: `subjects.id` is an identity column (a sequence, which never
///   goes back); token ids come from the `token_ids` counter row, read and advanced once per write group under
///   the writers' lock (`PostgresWriteConnection`), so they are transactional like SQLite's `sqlite_sequence`.
/// - `audit_subjects` is filled directly, in the record's own statement (`PostgresAccess.appendAudit`): no
///   pending table and no merge. SQLite needed the batch because each random-keyed entry dirtied a page that
///   every commit wrote to the WAL in full; PostgreSQL logs an index insert as a small WAL record and writes a
///   page image only once per checkpoint cycle, and its shared buffers absorb the random page writes.
/// - The change counter (`erasures.generation`) is bumped by row triggers on the same events as in SQLite.
/// - `cvault_schema` holds the schema version (SQLite's `PRAGMA user_version`) and marks the database as
///   cvault's (SQLite's `application_id`).
/// - `keyring` holds the sealed keyring (one row), so every server reads one source of truth.
/// - `rate_buckets` holds the budgets every server takes from (`PostgresAccess+Buckets.swift`), so a role's
///   `reveals_per_minute` and `misses_per_minute` hold across servers.
enum PostgresSchema {
    /// The version this code writes and understands. Matches the SQLite schema's, so a migration between the
    /// two knows both hold the same rows.
    static let version = 4

    static let statements: [String] =
        [
            "CREATE TABLE cvault_schema(id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)",
            "INSERT INTO cvault_schema(id, version) VALUES (1, \(version))",
            """
            CREATE TABLE subjects(
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                name text NOT NULL UNIQUE,
                kek_version bigint NOT NULL,
                dek_version bigint NOT NULL,
                wrapped_key bytea NOT NULL,
                created_at bigint NOT NULL,
                restricted_at bigint,
                restriction_reason text
            )
            """,
            "CREATE INDEX subjects_by_kek ON subjects(kek_version)",
            """
            CREATE TABLE tokens(
                id bigint PRIMARY KEY,
                addressed boolean NOT NULL DEFAULT false,
                lookup bytea NOT NULL,
                subject_id bigint NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
                kind text NOT NULL,
                mode text NOT NULL,
                sealed bytea NOT NULL,
                purposes text,
                expires_at bigint,
                max_reveals bigint,
                reveals bigint NOT NULL DEFAULT 0,
                created_at bigint NOT NULL
            )
            """,
            "CREATE INDEX tokens_by_subject ON tokens(subject_id)",
            // Tokens found by lookup: one row per lookup and subject, enforced by the database itself, so two
            // servers tokenizing the same value deterministically can never both insert it.
            "CREATE UNIQUE INDEX tokens_by_lookup ON tokens(lookup, subject_id) WHERE NOT addressed",
            "CREATE INDEX tokens_by_age ON tokens(kind, created_at)",
            "CREATE TABLE token_ids(id integer PRIMARY KEY CHECK (id = 1), last_id bigint NOT NULL)",
            "INSERT INTO token_ids(id, last_id) VALUES (1, 0)",
            "CREATE TABLE token_tombstones(lookup bytea PRIMARY KEY, erased_at bigint NOT NULL)",
            """
            CREATE TABLE idempotency(
                key_hash bytea PRIMARY KEY,
                subject_id bigint NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
                request_mac bytea NOT NULL,
                sealed_response bytea NOT NULL,
                created_at bigint NOT NULL
            )
            """,
            "CREATE INDEX idempotency_by_subject ON idempotency(subject_id)",
            "CREATE INDEX idempotency_by_age ON idempotency(created_at)",
            "CREATE TABLE audit(seq bigint PRIMARY KEY, prev bytea NOT NULL, hash bytea NOT NULL, body text NOT NULL)",
            """
            CREATE TABLE audit_seals(
                seq bigint PRIMARY KEY, hash bytea NOT NULL, signature bytea NOT NULL, at bigint NOT NULL
            )
            """,
            "CREATE TABLE audit_subjects(subject_ref bytea NOT NULL, seq bigint NOT NULL, PRIMARY KEY(subject_ref, seq))",
            """
            CREATE TABLE consents(
            \(consentColumns),
                PRIMARY KEY(subject_id, purpose)
            )
            """,
            """
            CREATE TABLE consent_history(
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            \(consentColumns)
            )
            """,
            "CREATE INDEX consent_history_by_subject ON consent_history(subject_id, id)",
            "CREATE TABLE erasures(id integer PRIMARY KEY CHECK (id = 1), generation bigint NOT NULL)",
            "INSERT INTO erasures(id, generation) VALUES (1, 0)",
            """
            CREATE FUNCTION cvault_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE erasures SET generation = generation + 1 WHERE id = 1;
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER subjects_erased AFTER DELETE ON subjects FOR EACH ROW EXECUTE FUNCTION cvault_count_change()",
            """
            CREATE TRIGGER consent_decided AFTER INSERT ON consent_history
            FOR EACH ROW EXECUTE FUNCTION cvault_count_change()
            """,
            """
            CREATE TRIGGER subjects_restricted AFTER UPDATE OF restricted_at ON subjects
            FOR EACH ROW EXECUTE FUNCTION cvault_count_change()
            """,
            "CREATE TABLE keyring(id integer PRIMARY KEY CHECK (id = 1), generation bigint NOT NULL, bytes bytea NOT NULL)",
        ] + bucketStatements

    /// The columns of a consent decision, in `consents` (the latest per purpose) and `consent_history` (all).
    static let consentColumns = """
            subject_id bigint NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
            purpose text NOT NULL, state text NOT NULL CHECK (state IN ('granted', 'withdrawn')),
            at bigint NOT NULL, source text NOT NULL, expires_at bigint
        """

    /// Every table the schema makes, for the privilege SQL and its check.
    static let tables = [
        "cvault_schema", "subjects", "tokens", "token_ids", "token_tombstones", "idempotency", "audit", "audit_seals",
        "audit_subjects", "consents", "consent_history", "erasures", "keyring", "rate_buckets",
    ]

    /// The tables holding history that no server may rewrite: a server may read and append, never change.
    static let appendOnlyTables = ["audit", "audit_seals", "audit_subjects"]

    /// The tables an erase or a purge deletes rows from: what a scrub vacuums.
    static let erasedTables = ["subjects", "tokens", "idempotency", "consents", "consent_history"]

    /// Creates the schema in one transaction, under the writers' lock, on an empty database. Fails with
    /// `.alreadyInitialized` if cvault's tables are already there.
    static func create(on db: PostgresConnection) throws {
        try db.simple(
            "BEGIN; SELECT pg_advisory_xact_lock(\(PostgresWriteConnection.writersLock))",
            what: "starting to create the schema"
        )
        do {
            if try exists(on: db) {
                throw VaultError(
                    .alreadyInitialized,
                    "the PostgreSQL database \(db.url.redacted) already holds a vault",
                    hint: "open the existing vault, or name another (empty) database"
                )
            }
            for sql in statements { try db.simple(sql, what: "creating the schema") }
            guard try db.simple("COMMIT", what: "committing the schema") == "COMMIT" else {
                throw VaultError(.storage, "creating the schema failed: the database rolled it back")
            }
        } catch {
            if db.inTransaction { _ = try? db.simple("ROLLBACK", what: "rolling back the schema") }
            throw error
        }
    }

    /// Whether the database holds cvault's tables.
    static func exists(on db: PostgresConnection) throws -> Bool {
        try db.queryOne("SELECT to_regclass('cvault_schema') IS NOT NULL", what: "looking for the schema") {
            try $0.bool(0)
        } ?? false
    }

    /// Checks an existing database: `.notInitialized` without cvault's tables, `.storage` for a schema
    /// newer than this code.
    static func check(on db: PostgresConnection) throws {
        guard try exists(on: db) else {
            throw VaultError(
                .notInitialized,
                "the PostgreSQL database \(db.url.redacted) holds no vault",
                hint: "run `cvault init --store` with this database first"
            )
        }
        let found =
            try db.queryOne("SELECT version FROM cvault_schema WHERE id = 1", what: "reading the schema version") {
                try $0.int(0)
            } ?? 0
        guard found == version else {
            throw VaultError(
                .storage,
                "the PostgreSQL database \(db.url.redacted) has schema version \(found); this cvault understands "
                    + "\(version)",
                hint: found > version
                    ? "use the cvault release that last wrote this database, or a newer one; do not downgrade"
                    : "the schema row was altered; restore the database from a backup"
            )
        }
    }
}
