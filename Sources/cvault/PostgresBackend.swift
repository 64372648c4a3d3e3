import VaultCore

/// The PostgreSQL store as the CLI opens it (`VaultLocation.openStore()`).
struct PostgresBackend: Sendable {
    let store: any KeyringStore

    static func open(_ url: PostgresURL) async throws -> PostgresBackend {
        throw VaultError(
            .storage,
            "cannot open \(url): this build of cvault has no PostgreSQL store",
            hint: "build cvault with its VaultPostgres target"
        )
    }

    /// Creates the vault's tables in an empty database (a database holding another vault is refused).
    static func create(_ url: PostgresURL) async throws -> PostgresBackend {
        try await open(url)
    }

    /// The SQL that creates the least-privileged server role (docs/SCALING.md).
    var leastPrivilegeSQL: String { "" }

    func keyringSource(name: String, keysFolder: String) -> any KeyringSource {
        StoreKeyringSource(store: store, name: name, keysFolder: keysFolder)
    }
}
