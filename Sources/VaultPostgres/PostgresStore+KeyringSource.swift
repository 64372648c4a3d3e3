import VaultCore

/// The PostgreSQL store as the keeper of the vault's keyring (`KeyringStore`, read by `StoreKeyringSource`):
/// the reads a write transaction makes before it wraps a new data key. `storedKeyring()`, `storeKeyring` and
/// `keyringGeneration()` are the store's own (`PostgresStore+Keyring.swift`).
extension PostgresStore: KeyringStore {
    /// Inside `writer`'s group transaction, which holds the writers' advisory lock: no `storeKeyring` of any
    /// server can commit between this read and that transaction's commit.
    public func keyringGeneration(in writer: any StoreWriter) throws -> Int? {
        try Self.keyringGeneration(in: writer)
    }

    public func storedKeyring(in writer: any StoreWriter) throws -> [UInt8]? {
        guard let access = writer as? PostgresAccess else {
            throw VaultError(.internal, "a PostgreSQL store's keyring was asked of another store's writer")
        }
        return try access.db.queryOne("SELECT bytes FROM keyring WHERE id = 1", what: "reading the keyring") {
            try $0.bytes(0)
        }
    }

    /// The database this store is connected to, as PostgreSQL names it (for the least-privilege SQL).
    public func databaseName() async throws -> String {
        try await read { reader in
            guard let access = reader as? PostgresAccess else {
                throw VaultError(.internal, "a PostgreSQL store was asked of another store's reader")
            }
            return try access.db.queryOne("SELECT current_database()::text", what: "reading the database's name") {
                try $0.text(0)
            } ?? ""
        }
    }
}
