/// A store that keeps the sealed keyring in its own database (PostgreSQL), so every server of one vault reads
/// one copy: a rotation stored there reaches all of them. The bytes are a `KeyringFile`'s encoding, exactly
/// what the file source writes.
public protocol KeyringStore: VaultStore {
    /// The stored keyring and its generation, nil when none is stored.
    func storedKeyring() async throws -> (bytes: [UInt8], generation: Int)?
    /// The stored keyring's generation, nil when none is stored: one cheap query, what servers poll.
    func keyringGeneration() async throws -> Int?
    /// Stores `bytes` as generation `generation` if the stored generation is still `replacing` (nil: only if
    /// none is stored), as a write of this store; else throws a `.keyring` error saying so, with nothing
    /// changed.
    func storeKeyring(bytes: [UInt8], generation: Int, replacing: Int?) async throws
    /// Inside the write transaction of `writer` (one of this store's): the stored keyring's generation. The
    /// store's writes, `storeKeyring` among them, must be serialized with that transaction (PostgreSQL: every
    /// write group of every server holds one advisory transaction lock until its commit), so what this reads
    /// stays the stored keyring until the transaction commits.
    func keyringGeneration(in writer: any StoreWriter) throws -> Int?
    /// Inside the write transaction of `writer`: the stored keyring.
    func storedKeyring(in writer: any StoreWriter) throws -> [UInt8]?
}

/// The keyring kept in the database (`KeyringStore`). The audit anchor stays a local file in the keys folder
/// of each server (`anchorPath`): it pins the head this server last saw, which is the point of it.
public final class StoreKeyringSource: KeyringSource {
    public let store: any KeyringStore
    public let name: String
    public let anchorPath: String
    /// One query of the generation (an indexed one-row read), so a rotation stored on any host reaches every
    /// server well within a second.
    public var pickupInterval: Duration { .milliseconds(250) }

    /// `name` says where the database is for messages (redacted: never a password); `keysFolder` holds the
    /// audit anchor.
    public init(store: any KeyringStore, name: String, keysFolder: String) {
        self.store = store
        self.name = name
        self.anchorPath = (keysFolder.isEmpty ? "." : keysFolder) + "/" + AuditAnchor.fileName
    }

    public func read() async throws(VaultError) -> KeyringFile {
        guard let stored = try await storage({ try await store.storedKeyring() }) else {
            throw VaultError.noKeyring(name)
        }
        return try decode(stored.bytes, generation: stored.generation)
    }

    public func changed(since generation: Int) async throws(VaultError) -> KeyringFile? {
        guard let now = try await storage({ try await store.keyringGeneration() }) else {
            throw VaultError.noKeyring(name)
        }
        return now == generation ? nil : try await read()
    }

    /// A change that lost the race to another one is refused by the store (`.keyring`, run the command
    /// again), with nothing stored.
    public func write(_ file: KeyringFile, replacing generation: Int?) async throws(VaultError) {
        if generation == nil, try await storage({ try await store.keyringGeneration() }) != nil {
            throw VaultError(
                .alreadyInitialized,
                "a keyring is already stored \(name)",
                hint: "cvault never overwrites a keyring; give another database for a new vault"
            )
        }
        try await storage {
            try await store.storeKeyring(bytes: file.encoded(), generation: file.generation, replacing: generation)
        }
    }

    /// Nothing to hold: `write` compares and sets, so of two changes built on one generation the second is
    /// refused.
    public func exclusively<T>(_ change: () async throws(VaultError) -> T) async throws(VaultError) -> T {
        try await change()
    }

    /// The generation as stored, read inside the caller's write transaction; when it is not
    /// the one held, the stored keyring's active KEK decides (a change that left the KEK alone, such as a
    /// token key rotation, does not make this process's new data keys wait for its pick-up).
    public func isActiveKEK(_ version: Int, generation: Int, in writer: any StoreWriter) throws(VaultError) -> Bool {
        let stored = try syncStorage { try store.keyringGeneration(in: writer) }
        if stored == generation { return true }
        guard let bytes = try syncStorage({ try store.storedKeyring(in: writer) }) else {
            throw VaultError.noKeyring(name)
        }
        return try KeyringFile.decode(bytes, source: name).activeKEK?.version == version
    }

    private func decode(_ bytes: [UInt8], generation: Int) throws(VaultError) -> KeyringFile {
        let file = try KeyringFile.decode(bytes, source: name)
        // The generation column and the sealed generation must agree, or a poll would compare the wrong one.
        guard file.generation == generation else {
            throw VaultError(
                .integrity,
                "the keyring \(name) says generation \(file.generation) where the database says \(generation)",
                hint: "restore the keyring from its backup"
            )
        }
        return file
    }

    /// A store's own error is kept when it is a `VaultError` (its "store unavailable" answer); anything else is
    /// a storage failure, named without its detail, which may quote the connection.
    private func storage<T>(_ body: () async throws -> T) async throws(VaultError) -> T {
        do { return try await body() } catch { throw Self.mapped(error) }
    }

    private func syncStorage<T>(_ body: () throws -> T) throws(VaultError) -> T {
        do { return try body() } catch { throw Self.mapped(error) }
    }

    private static func mapped(_ error: any Error) -> VaultError {
        if let error = error as? VaultError { return error }
        return VaultError(
            .storage,
            "the keyring could not be read or stored in the database",
            hint: "see the server log"
        )
    }
}
