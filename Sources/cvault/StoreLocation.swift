import VaultCore
import VaultPostgres

/// Which store holds the vault's rows, chosen once at the edge (`VaultLocation.storeLocation()`): the embedded
/// SQLite database in the data folder (the default), or a PostgreSQL database that several servers share.
enum StoreLocation: Sendable, CustomStringConvertible {
    case sqlite(databasePath: String)
    case postgres(PostgresURL)

    /// Where the store is, for output: the database file, or the connection string without its password.
    var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let url): url.redacted
        }
    }
}
