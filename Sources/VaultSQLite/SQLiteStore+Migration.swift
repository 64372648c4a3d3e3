import VaultCore
import VaultStoreRuntime

/// What `cvault migrate` reads from a SQLite vault: raw rows, table by table in the order of their primary
/// key, so another store can take them as they are, and the counters beside them. Reads only: the source is
/// never changed by a migration.
extension SQLiteStore {
    /// At most `limit` rows of `table` after the first `offset` in its order, each with the values of
    /// `table.columns` in order.
    public func migrationRows(_ table: MigrationTable, offset: Int, limit: Int) async throws -> [[MigrationValue]] {
        let columns = table.columns.map(\.name).joined(separator: ", ")
        let sql = "SELECT \(columns) FROM \(table.name) ORDER BY \(table.orderBy) LIMIT ? OFFSET ?"
        return try await migrationRead { db in
            try db.query(sql, [.int(limit), .int(offset)], what: "reading \(table.name) to migrate it") { row in
                table.columns.indices.map { index -> MigrationValue in
                    let column = Int32(index)
                    guard !row.isNull(column) else { return .null }
                    switch table.columns[index].type {
                    case .int, .bool: return .int(row.int64(column))
                    case .bytes: return .bytes(row.blob(column))
                    case .text: return .text(row.text(column))
                    }
                }
            }
        }
    }

    /// How many rows `table` holds.
    public func migrationCount(_ table: MigrationTable) async throws -> Int {
        try await migrationRead { db in
            try db.queryOne("SELECT count(*) FROM \(table.name)", what: "counting \(table.name)") { $0.int(0) } ?? 0
        }
    }

    /// At most `limit` records' pending references of the index by subject (`SubjectIndex`), after the first
    /// `offset` records, each as (subject_ref, seq) rows of `audit_subjects`.
    public func migrationPendingSubjectRows(
        offset: Int,
        limit: Int
    ) async throws -> (records: Int, rows: [[MigrationValue]]) {
        try await migrationRead { db in
            let pending = try db.query(
                "SELECT seq, subject_refs FROM audit_subjects_pending ORDER BY seq LIMIT ? OFFSET ?",
                [.int(limit), .int(offset)],
                what: "reading the subject index's pending entries to migrate them"
            ) { row in (row.int64(0), row.blob(1)) }
            var rows: [[MigrationValue]] = []
            for (seq, bytes) in pending {
                for start in stride(
                    from: 0,
                    to: bytes.count - SubjectIndex.referenceBytes + 1,
                    by: SubjectIndex.referenceBytes
                ) {
                    rows.append([.bytes(Array(bytes[start..<start + SubjectIndex.referenceBytes])), .int(seq)])
                }
            }
            return (pending.count, rows)
        }
    }

    /// How many records have pending references, and how many references they hold.
    public func migrationPendingSubjectCount() async throws -> (records: Int, references: Int) {
        try await migrationRead { db in
            try db.queryOne(
                "SELECT count(*), coalesce(sum(length(subject_refs)), 0) FROM audit_subjects_pending",
                what: "counting the subject index's pending entries"
            ) { ($0.int(0), $0.int(1) / SubjectIndex.referenceBytes) } ?? (0, 0)
        }
    }

    /// The counters a copy must carry over: SQLite's AUTOINCREMENT high-water marks (ids never come back,
    /// even after an erase) and the erase counter.
    public func migrationCounters() async throws -> MigrationCounters {
        try await migrationRead { db in
            func sequence(_ name: String) throws -> Int64 {
                try db.queryOne(
                    "SELECT seq FROM sqlite_sequence WHERE name = ?",
                    [.text(name)],
                    what: "reading the last \(name) id"
                ) { $0.int64(0) } ?? 0
            }
            let erasures =
                try db.queryOne("SELECT generation FROM erasures WHERE id = 1", what: "reading the erase count") {
                    $0.int64(0)
                } ?? 0
            return MigrationCounters(
                lastTokenID: try sequence("tokens"),
                lastSubjectID: try sequence("subjects"),
                erasures: erasures
            )
        }
    }

    private func migrationRead<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) throws -> T
    ) async throws -> T {
        try await read { reader in
            guard let access = reader as? SQLiteAccess else {
                throw VaultError(.internal, "a SQLite store was asked of another store's reader")
            }
            return try body(access.db)
        }
    }
}
