import VaultCore
import VaultPostgres
import VaultSQLite

/// The store a command opened (`VaultLocation.openStore()`), the one place that knows which backend it is:
/// every command works through `store` and `keyringSource`, and what only SQLite can do (a file backup, a
/// checkpoint) goes through `sqliteOnly`, which names the alternative when the vault is in PostgreSQL.
struct OpenedStore: Sendable {
    enum Backend: Sendable {
        case sqlite(SQLiteStore)
        case postgres(PostgresBackend)
    }

    let store: any VaultStore
    let backend: Backend
    let location: StoreLocation
    /// Where the keyring is kept: its file in the keys folder beside SQLite, the database with PostgreSQL.
    let keyringSource: any KeyringSource

    init(sqlite: SQLiteStore, location: StoreLocation, keyringPath: String) {
        self.store = sqlite
        self.backend = .sqlite(sqlite)
        self.location = location
        self.keyringSource = FileKeyringSource(path: keyringPath)
    }

    init(postgres: PostgresBackend, location: StoreLocation, keysFolder: String) {
        self.store = postgres.store
        self.backend = .postgres(postgres)
        self.location = location
        self.keyringSource = postgres.keyringSource(name: "in the database \(location)", keysFolder: keysFolder)
    }

    /// The SQLite store, for a command that only SQLite can serve: `what` names it, and the refusal says what
    /// to use for a PostgreSQL vault instead.
    func sqliteOnly(_ what: String, instead: String) throws(VaultError) -> SQLiteStore {
        switch backend {
        case .sqlite(let store): return store
        case .postgres:
            throw VaultError(
                .invalidRequest,
                "\(what) works only on a vault in SQLite; this vault is in PostgreSQL (\(location))",
                hint: instead
            )
        }
    }

    /// After an erase whose own scrub could not finish (`Vault.erase`), SQLite's old WAL frames hold the erased
    /// rows' pages until a TRUNCATE checkpoint, which with secure_delete leaves zeros in their place.
    /// PostgreSQL scrubs within `writeAndScrub` itself and has nothing to add here.
    func checkpointIfSQLite() async {
        if case .sqlite(let store) = backend { try? await store.checkpoint() }
    }

    func close() async { await store.close() }

    /// What the database role may do beyond what a server needs (PostgreSQL: it could rewrite the audit
    /// history), for `serve` to log at start; nothing for SQLite, whose file permissions are checked apart.
    func privilegeWarnings() async -> [String] {
        guard case .postgres(let backend) = backend else { return [] }
        do {
            return try await backend.store.privilegeWarnings()
        } catch {
            return [
                "the database role's privileges could not be checked (\((error as? VaultError)?.message ?? "store error"))"
            ]
        }
    }

    /// What `backup` and `restore` point a PostgreSQL vault to.
    static let postgresBackupHint =
        "back up a PostgreSQL vault with pg_dump and restore it with pg_restore (docs/OPERATIONS.md, "
        + "\"Backups of a PostgreSQL vault\"); the keyring is in the database, the audit anchor in each server's keys folder"

    /// The keyring as stored, with no passphrase (its public metadata: versions, generation, audit key).
    func keyringFile() async throws(VaultError) -> KeyringFile { try await keyringSource.read() }
}

extension VaultLocation {
    /// Opens the vault's store: the one function every command and the server open it through.
    func openStore() async throws -> OpenedStore {
        switch try storeLocation() {
        case .sqlite(let path):
            return OpenedStore(
                sqlite: try SQLiteStore.open(at: path),
                location: .sqlite(databasePath: path),
                keyringPath: keyringPath
            )
        case .postgres(let url):
            return OpenedStore(
                postgres: try await PostgresBackend.open(url),
                location: .postgres(url),
                keysFolder: keysFolder
            )
        }
    }

    /// The store and the keyring's public metadata (no passphrase needed). A keyring file is read before the
    /// SQLite database is opened, so a vault with neither is reported by its missing keyring.
    func openStoreWithKeyringFile() async throws -> (store: OpenedStore, keyring: KeyringFile) {
        if case .sqlite = try storeLocation() {
            let file = try FileKeyringSource(path: keyringPath).read()
            return (try await openStore(), file)
        }
        let opened = try await openStore()
        do {
            return (opened, try await opened.keyringFile())
        } catch {
            await opened.close()
            throw error
        }
    }

    /// The store and the keyring, opened the same way by every command and by the server: the store first,
    /// then the keyring from where that store keeps it, unsealed with the credential `unseal` names.
    func open(_ unseal: UnsealOptions) async throws -> (store: OpenedStore, keyring: Keyring) {
        let opened = try await openStore()
        do {
            let source = opened.keyringSource
            let keyring = try await Keyring.open(from: source, credential: unseal.credential(for: source))
            return (opened, keyring)
        } catch {
            await opened.close()
            throw error
        }
    }
}
