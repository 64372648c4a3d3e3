import VaultCore

/// Least privilege as a second wall: a server role that may append to the audit history but never change it,
/// so even a compromised server cannot rewrite what was revealed to whom.
extension PostgresStore {
    /// The SQL that makes `role` a server role for the vault in `database`, to be run once (by `psql`) as the
    /// role that ran `cvault init`, which owns cvault's tables:
    /// - `audit`, `audit_seals` and `audit_subjects`: SELECT and INSERT only. Never UPDATE, DELETE, TRUNCATE
    ///   or TRIGGER, and they stay the initializing role's, so the server role cannot grant itself more.
    /// - The tables an erase deletes from are handed to the role (it becomes their owner): PostgreSQL 15 lets
    ///   only a table's owner VACUUM it, and a scrub must (`PostgresStore`'s comment). Their owner may alter
    ///   them; it holds their rows anyway, and none of them is history.
    /// - The other vault tables: SELECT, INSERT, UPDATE, DELETE; the schema row and the sealed keyring: SELECT
    ///   (a server only reads the keyring; `cvault keys …` change it, run as the owner).
    /// - `pg_read_all_stats`, so a scrub sees every session's snapshot, not just the role's own.
    /// Identifiers are quoted, so any name is safe to pass. The role gets no password here: set one with
    /// `\password`, or use a client certificate.
    public static func leastPrivilegeSQL(database: String, role: String) -> String {
        let who = quoted(role)
        let appendOnly = PostgresSchema.appendOnlyTables.joined(separator: ", ")
        let readWrite = PostgresSchema.tables.filter {
            !PostgresSchema.erasedTables.contains($0) && !PostgresSchema.appendOnlyTables.contains($0)
                && !Self.readOnlyTables.contains($0)
        }.joined(separator: ", ")
        return """
            -- A cvault server role: appends to the audit history, never changes it.
            CREATE ROLE \(who) LOGIN;
            GRANT CONNECT ON DATABASE \(quoted(database)) TO \(who);
            GRANT USAGE ON SCHEMA public TO \(who);
            -- History: read and append only.
            GRANT SELECT, INSERT ON \(appendOnly) TO \(who);
            -- The rows an erase deletes: owned by the server role, so its scrub may VACUUM them.
            GRANT CREATE ON SCHEMA public TO \(who);
            \(PostgresSchema.erasedTables.map { "ALTER TABLE \($0) OWNER TO \(who);" }.joined(separator: "\n"))
            REVOKE CREATE ON SCHEMA public FROM \(who);
            -- The other vault tables: read and write.
            GRANT SELECT, INSERT, UPDATE, DELETE ON \(readWrite) TO \(who);
            -- The schema row and the keyring: read only (keys commands run as the owner).
            GRANT SELECT ON \(Self.readOnlyTables.joined(separator: ", ")) TO \(who);
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO \(who);
            -- A scrub waits for every older snapshot, so it must see every session's.
            GRANT pg_read_all_stats TO \(who);
            """
    }

    /// What is broader than `leastPrivilegeSQL` grants, each as a sentence for the server to log as a
    /// warning at start; empty when the role is as narrow as it should be.
    public func privilegeWarnings() async throws -> [String] {
        let appendOnly = PostgresSchema.appendOnlyTables.map { "'\($0)'" }.joined(separator: ", ")
        let rows = try await onMaintenance { db in
            try db.query(
                """
                SELECT 'runs as a superuser, which may do anything to the audit history'
                WHERE (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                UNION ALL
                SELECT format('owns table %s, so it may change or drop its rows', relname)
                FROM pg_class WHERE relname IN (\(appendOnly)) AND relkind = 'r'
                    AND relnamespace = 'public'::regnamespace AND pg_has_role(current_user, relowner, 'USAGE')
                UNION ALL
                SELECT format('may %s table %s', p, t)
                FROM unnest(ARRAY[\(appendOnly)]) AS t, unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER']) AS p
                WHERE has_table_privilege(current_user, t, p)
                """,
                what: "checking the role's privileges"
            ) { try $0.text(0) }
        }
        var warnings = rows.map { "the database role \($0): a compromised server could rewrite the audit history" }
        if !canVacuumTables {
            warnings.append(
                "the database role may not VACUUM the tables an erase deletes from, so erase answers "
                    + "'erased, not yet scrubbed' until autovacuum has run; see the least-privilege SQL"
            )
        }
        return warnings
    }

    /// What a server reads and never writes.
    static let readOnlyTables = ["cvault_schema", "keyring"]

    private static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacing("\"", with: "\"\"") + "\""
    }
}
