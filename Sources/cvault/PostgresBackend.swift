import Foundation
import VaultCore
import VaultPostgres

/// The PostgreSQL store as the CLI opens it (`VaultLocation.openStore()`, `init`).
struct PostgresBackend: Sendable {
    let store: PostgresStore

    /// Opens a database that holds a vault.
    static func open(_ url: PostgresURL) async throws -> PostgresBackend {
        PostgresBackend(store: try await onOwnThread { try PostgresStore.open(url) })
    }

    /// Creates the vault's tables in an empty database (a database holding another vault is refused).
    static func create(_ url: PostgresURL) async throws -> PostgresBackend {
        PostgresBackend(store: try await onOwnThread { try PostgresStore.create(url) })
    }

    /// The SQL that creates a server role for this database, allowed to append to the audit log but never to
    /// change it (`PostgresStore.leastPrivilegeSQL`).
    func leastPrivilegeSQL(role: String) async throws -> String {
        PostgresStore.leastPrivilegeSQL(database: try await store.databaseName(), role: role)
    }

    func keyringSource(name: String, keysFolder: String) -> any KeyringSource {
        StoreKeyringSource(store: store, name: name, keysFolder: keysFolder)
    }

    /// Connecting blocks (libpq's `PQconnectdb`, a schema check): off Swift's cooperative pool, as the store
    /// runs its own work.
    private static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }
}
