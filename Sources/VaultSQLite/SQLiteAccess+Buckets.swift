import VaultCore

/// The budgets a store keeps when several processes share it (`StoreWriter.bucket`).
///
/// A SQLite vault is served by one process (`SQLiteStore.sharedByProcesses` is false), which keeps its
/// budgets in memory and never calls these. They are here so the store honours the whole contract (the
/// conformance suite checks them), in the simplest correct way: a temporary table of the writer connection,
/// in memory (`temp_store=MEMORY`) and gone with it, transactional like every other table (a write that
/// throws rolls its puts back). Nothing of it reaches the database file, so the schema does not change.
extension SQLiteAccess {
    private static let createBuckets = """
        CREATE TEMP TABLE IF NOT EXISTS rate_buckets(
            key TEXT PRIMARY KEY,
            level INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID, STRICT
        """

    func bucket(_ key: String) throws -> StoredBucket? {
        try db.execute(Self.createBuckets, what: "preparing the rate buckets")
        return try db.queryOne(
            "SELECT level, updated_at FROM temp.rate_buckets WHERE key = ?",
            [.text(key)],
            what: "reading a rate bucket"
        ) { StoredBucket(level: $0.int64(0), updatedAt: $0.int64(1)) }
    }

    func putBucket(_ key: String, _ bucket: StoredBucket) throws {
        try db.execute(Self.createBuckets, what: "preparing the rate buckets")
        try db.execute(
            """
            INSERT INTO temp.rate_buckets(key, level, updated_at) VALUES (?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET level = excluded.level, updated_at = excluded.updated_at
            """,
            [.text(key), .int(bucket.level), .int(bucket.updatedAt)],
            what: "writing a rate bucket"
        )
    }
}
