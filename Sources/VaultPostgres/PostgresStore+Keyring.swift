import VaultCore
import VaultStoreRuntime

/// The sealed keyring kept in the database (`keyring`, one row), so every server reads one source of truth.
/// The bytes are the keyring file's (sealed under the passphrase or shares); the store never opens them.
/// `generation` counts its versions: a change is a compare-and-set against the generation the changer read,
/// inside a write (so under the writers' lock), and two `cvault keys` commands can never overwrite each other.
extension PostgresStore {
    /// The stored keyring and its generation; nil if none was stored yet.
    public func storedKeyring() async throws -> (bytes: [UInt8], generation: Int)? {
        let row = try await read { reader in try Self.keyringRow(in: reader) }
        return row.map { (bytes: $0.bytes, generation: $0.generation) }
    }

    /// Stores `bytes` as generation `generation`, if the stored generation is still `replacing` (nil: none is
    /// stored yet); else fails with `.keyring` and changes nothing. `generation` must be above `replacing`.
    public func storeKeyring(bytes: [UInt8], generation: Int, replacing: Int?) async throws {
        guard generation > (replacing ?? 0) || (replacing == nil && generation >= 0) else {
            throw VaultError(
                .keyring,
                "a keyring generation must grow: \(generation) cannot replace \(replacing ?? 0)",
                hint: "this is a bug in the caller"
            )
        }
        try await write { writer in
            guard let access = writer as? PostgresAccess else { throw Self.notThisStore }
            let stored = try Self.keyringGeneration(in: writer)
            guard stored == replacing else {
                throw VaultError(
                    .keyring,
                    "the keyring in the database changed meanwhile: generation "
                        + "\(stored.map(String.init) ?? "none"), expected \(replacing.map(String.init) ?? "none")",
                    hint: "another `cvault keys` command ran at the same time; run yours again"
                )
            }
            try access.db.execute(
                """
                INSERT INTO keyring(id, generation, bytes) VALUES (1, $1, $2)
                ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, bytes = excluded.bytes
                """,
                [.int(generation), .bytes(bytes)],
                what: "storing the keyring"
            )
            access.group?.keyringGeneration = nil  // read again after this write, kept or rolled back
        }
    }

    /// The stored keyring's generation (nil: none stored), without its bytes: one probe by primary key, cheap
    /// enough for every server to poll, and usable inside a `write` (pass its writer) to act only on the
    /// keyring it read.
    public static func keyringGeneration(in reader: any StoreReader) throws -> Int? {
        guard let access = reader as? PostgresAccess else { throw notThisStore }
        return try GroupMemory.remembered(in: access.group, \.keyringGeneration) {
            try access.db.queryOne(
                "SELECT generation FROM keyring WHERE id = 1",
                what: "reading the keyring's generation"
            ) {
                try $0.int(0)
            }
        }
    }

    /// `keyringGeneration(in:)` on a reader.
    public func keyringGeneration() async throws -> Int? {
        try await read { reader in try Self.keyringGeneration(in: reader) }
    }

    private static func keyringRow(in reader: any StoreReader) throws -> (bytes: [UInt8], generation: Int)? {
        guard let access = reader as? PostgresAccess else { throw notThisStore }
        return try access.db.queryOne("SELECT bytes, generation FROM keyring WHERE id = 1", what: "reading the keyring")
        {
            (bytes: try $0.bytes(0), generation: try $0.int(1))
        }
    }

    private static var notThisStore: VaultError {
        VaultError(.internal, "a PostgreSQL store's keyring was asked of another store's reader")
    }
}
