import VaultCore

/// The budgets several servers share (`StoreWriter.bucket`): each identity's `reveals_per_minute` and
/// `misses_per_minute` bucket is a row of `rate_buckets`, read and put back inside the detokenize call's write.
///
/// Exact across servers because every write group holds the writers' advisory lock from its first statement
/// to its commit (`PostgresWriteConnection`): one server's read-modify-write of a bucket can never interleave
/// with another's, so no take is lost and none is counted twice, at READ COMMITTED. The row holds public
/// figures only (a level and a time), and a rolled-back group takes its puts with it.
extension PostgresAccess {
    func bucket(_ key: String) throws -> StoredBucket? {
        try db.queryOne(
            "SELECT level, updated_at FROM rate_buckets WHERE key = $1",
            [.text(key)],
            what: "reading a rate bucket"
        ) { StoredBucket(level: try $0.int64(0), updatedAt: try $0.int64(1)) }
    }

    func putBucket(_ key: String, _ bucket: StoredBucket) throws {
        _ = try db.execute(
            """
            INSERT INTO rate_buckets(key, level, updated_at) VALUES ($1, $2, $3)
            ON CONFLICT (key) DO UPDATE SET level = excluded.level, updated_at = excluded.updated_at
            """,
            [.text(key), .int(bucket.level), .int(bucket.updatedAt)],
            what: "writing a rate bucket"
        )
    }
}

extension PostgresStore {
    /// True: any number of servers, on any hosts, write this database at once, so the vault keeps its
    /// budgets in it (`rate_buckets`) rather than in each process.
    public var sharedByProcesses: Bool { true }
}

extension PostgresSchema {
    /// The table of the budgets several servers share: one row per identity and budget, keyed by
    /// `StoredBudgets`' key (a budget's name and the identity's).
    static let bucketStatements = [
        "CREATE TABLE rate_buckets(key text PRIMARY KEY, level bigint NOT NULL, updated_at bigint NOT NULL)"
    ]
}
