import Synchronization
import VaultCore

/// A `KeyringStore` in memory: the rows of an `InMemoryVaultStore`, and a sealed keyring beside them, so the
/// domain's tests can run a vault whose keyring is kept by its store (`StoreKeyringSource`), as with
/// PostgreSQL. Keyring writes run as writes of that store (one at a time), so a compare-and-set and a check
/// made inside another write never interleave, which is what PostgreSQL's row lock gives.
public final class InMemoryKeyringStore: KeyringStore {
    public let rows = InMemoryVaultStore()
    /// As its rows' store: not shared, so a vault on it keeps its budgets in memory.
    public var sharedByProcesses: Bool { rows.sharedByProcesses }
    private let keyring = Mutex<(bytes: [UInt8], generation: Int)?>(nil)
    /// Run once, inside the next `storeKeyring`, before it compares: lets a test land another change there.
    private let beforeNextStore = Mutex<(@Sendable () async throws -> Void)?>(nil)

    public init() {}

    /// Makes the next `storeKeyring` run `body` first, as if another process's change landed at that moment.
    public func interleave(beforeNextStore body: @escaping @Sendable () async throws -> Void) {
        beforeNextStore.withLock { $0 = body }
    }

    /// Replaces what is stored without a compare, as someone with write access to the database could.
    public func overwriteKeyring(bytes: [UInt8], generation: Int) {
        keyring.withLock { $0 = (bytes, generation) }
    }

    // MARK: KeyringStore

    public func storedKeyring() async throws -> (bytes: [UInt8], generation: Int)? { keyring.withLock { $0 } }

    public func keyringGeneration() async throws -> Int? { keyring.withLock { $0?.generation } }

    public func storeKeyring(bytes: [UInt8], generation: Int, replacing: Int?) async throws {
        let interleaved = beforeNextStore.withLock { hook in
            defer { hook = nil }
            return hook
        }
        if let interleaved { try await interleaved() }
        try await rows.write { [self] _ in
            try self.keyring.withLock { stored throws(VaultError) in
                guard stored?.generation == replacing else {
                    throw VaultError.keyringChangedMeanwhile(stored: stored?.generation, expected: replacing)
                }
                stored = (bytes, generation)
            }
        }
    }

    public func keyringGeneration(in writer: any StoreWriter) throws -> Int? { keyring.withLock { $0?.generation } }

    public func storedKeyring(in writer: any StoreWriter) throws -> [UInt8]? { keyring.withLock { $0?.bytes } }

    // MARK: VaultStore, by the rows

    public func write<T: Sendable>(_ work: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
        try await rows.write(work)
    }

    public func writeAndScrub<T: Sendable>(
        _ work: @escaping @Sendable (any StoreWriter) throws -> T
    ) async throws -> (value: T, scrubbed: Bool) {
        try await rows.writeAndScrub(work)
    }

    public func read<T: Sendable>(_ work: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        try await rows.read(work)
    }

    public func readThenWrite<R: Sendable, T: Sendable>(
        items: Int,
        read: @escaping @Sendable (any StoreReader) throws -> R,
        write: @escaping @Sendable (any StoreWriter, R, ReadSnapshot) throws -> T
    ) async throws -> T {
        try await rows.readThenWrite(items: items, read: read, write: write)
    }

    public func close() async { await rows.close() }
}
