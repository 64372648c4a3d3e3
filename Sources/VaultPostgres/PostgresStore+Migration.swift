import VaultCore
import VaultStoreRuntime

/// What `cvault migrate` writes into a PostgreSQL vault: raw rows copied from another store, each batch in
/// one write together with the progress it makes (`MigrationTable.progressTable`), so a copy killed at any
/// moment continues from the last committed batch when run again, never copying a row twice or skipping one.
extension PostgresStore {
    /// The vault (audit public key, hex) whose migration this database holds, and how many source rows of
    /// each table are copied; nil when it holds no migration.
    public func migrationProgress() async throws -> (vault: String, copied: [String: Int])? {
        try await migrationRead { db in
            let exists =
                try db.queryOne(
                    "SELECT count(*) FROM pg_class WHERE oid = to_regclass($1)",
                    [.text(MigrationTable.progressTable)],
                    what: "looking for a migration in progress"
                ) { try $0.int(0) == 1 } ?? false
            guard exists else { return nil }
            let rows = try db.query(
                "SELECT table_name, copied, vault FROM \(MigrationTable.progressTable)",
                what: "reading the migration's progress"
            ) { (try $0.text(0), try $0.int(1), try $0.text(2)) }
            guard let vault = rows.first?.2 else { return nil }
            return (vault, Dictionary(rows.map { ($0.0, $0.1) }, uniquingKeysWith: max))
        }
    }

    /// Whether the database holds cvault's tables and nothing in them: no subject, token, audit record or
    /// keyring (a `create` whose migration never recorded its start).
    public func migrationTargetIsEmpty() async throws -> Bool {
        try await migrationRead { db in
            try db.queryOne(
                """
                SELECT (SELECT count(*) FROM subjects) + (SELECT count(*) FROM tokens) + (SELECT count(*) FROM audit)
                    + (SELECT count(*) FROM keyring) + (SELECT count(*) FROM token_tombstones)
                """,
                what: "checking the database is empty"
            ) { try $0.int(0) } == 0
        }
    }

    /// Records that this database is the target of `vault`'s migration, with every table at 0 rows copied.
    public func startMigration(vault: String, progressKeys: [String]) async throws {
        try await migrationWrite { db in
            _ = try db.execute(
                """
                CREATE TABLE IF NOT EXISTS \(MigrationTable.progressTable)(
                    table_name text PRIMARY KEY, copied bigint NOT NULL, vault text NOT NULL
                )
                """,
                what: "creating the migration's progress table"
            )
            for key in progressKeys {
                _ = try db.execute(
                    "INSERT INTO \(MigrationTable.progressTable)(table_name, copied, vault) VALUES ($1, 0, $2)",
                    [.text(key), .text(vault)],
                    what: "recording the migration's start"
                )
            }
        }
    }

    /// Inserts `rows` into `table` and moves `progressKey`'s count on by `sourceRows`, in one write. The
    /// count must still be `copiedBefore`: a second migration of the same database running at once stops.
    public func insertMigrationRows(
        _ table: MigrationTable,
        _ rows: [[MigrationValue]],
        progressKey: String,
        copiedBefore: Int,
        sourceRows: Int,
        ignoringDuplicates: Bool = false
    ) async throws {
        let columns = table.columns.map(\.name).joined(separator: ", ")
        var placeholders: [String] = []
        var arguments: [PostgresValue] = []
        for row in rows {
            var slots: [String] = []
            for (index, value) in row.enumerated() {
                arguments.append(Self.argument(value, table.columns[index].type))
                slots.append(table.columns[index].type == .bool ? "($\(arguments.count) <> 0)" : "$\(arguments.count)")
            }
            placeholders.append("(" + slots.joined(separator: ", ") + ")")
        }
        let insert =
            "INSERT INTO \(table.name)(\(columns)) \(table.keepsIdentity ? "OVERRIDING SYSTEM VALUE " : "")VALUES "
            + placeholders.joined(separator: ", ") + (ignoringDuplicates ? " ON CONFLICT DO NOTHING" : "")
        let values = arguments
        try await migrationWrite { db in
            let moved = try db.execute(
                "UPDATE \(MigrationTable.progressTable) SET copied = copied + $1 WHERE table_name = $2 AND copied = $3",
                [.int(sourceRows), .text(progressKey), .int(copiedBefore)],
                what: "recording the migration's progress"
            )
            guard moved == 1 else {
                throw VaultError(
                    .storage,
                    "the migration's progress in the database moved meanwhile (another `cvault migrate` runs)",
                    hint: "run one migration at a time"
                )
            }
            if !rows.isEmpty { _ = try db.execute(insert, values, what: "copying rows into \(table.name)") }
        }
    }

    /// How many rows `table` holds.
    public func migrationCount(_ table: String) async throws -> Int {
        try await migrationRead { db in
            try db.queryOne("SELECT count(*) FROM \(table)", what: "counting \(table)") { try $0.int(0) } ?? 0
        }
    }

    /// Sets the counters the copied rows need (`MigrationCounters`), and the identities of the tables whose
    /// ids were copied past their highest id, so the next row gets a new one.
    public func setMigrationCounters(_ counters: MigrationCounters) async throws {
        try await migrationWrite { db in
            _ = try db.execute(
                "UPDATE token_ids SET last_id = greatest(last_id, $1) WHERE id = 1",
                [.int(counters.lastTokenID)],
                what: "setting the last token id"
            )
            _ = try db.execute(
                "UPDATE erasures SET generation = $1 WHERE id = 1",
                [.int(counters.erasures)],
                what: "setting the erase count"
            )
            for (table, floor) in [("subjects", counters.lastSubjectID), ("consent_history", 0)] {
                _ = try db.query(
                    """
                    SELECT setval(pg_get_serial_sequence('\(table)', 'id'), greatest($1, (SELECT max(id) FROM \(table))))
                    WHERE greatest($1, (SELECT max(id) FROM \(table))) > 0
                    """,
                    [.int(floor)],
                    what: "moving \(table)'s ids past the copied ones"
                ) { _ in () }
            }
        }
    }

    /// Removes the migration's progress: the copy is complete and verified.
    public func endMigration() async throws {
        try await migrationWrite { db in
            _ = try db.execute("DROP TABLE IF EXISTS \(MigrationTable.progressTable)", what: "ending the migration")
        }
    }

    private static func argument(_ value: MigrationValue, _ type: MigrationTable.Column) -> PostgresValue {
        switch value {
        case .int(let number): return .int(number)
        case .bytes(let bytes): return .bytes(bytes)
        case .text(let text): return .text(text)
        case .null:
            switch type {
            case .int, .bool: return .null(PostgresValue.int8)
            case .bytes: return .null(PostgresValue.bytea)
            case .text: return .null(PostgresValue.textType)
            }
        }
    }

    private func migrationRead<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await read { reader in try body(Self.migrationConnection(reader)) }
    }

    private func migrationWrite<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await write { writer in try body(Self.migrationConnection(writer)) }
    }

    /// The connection under one of this store's readers or writers.
    private static func migrationConnection(_ reader: any StoreReader) throws -> PostgresConnection {
        guard let access = reader as? PostgresAccess else {
            throw VaultError(.internal, "a PostgreSQL store was asked of another store's reader")
        }
        return access.db
    }
}
