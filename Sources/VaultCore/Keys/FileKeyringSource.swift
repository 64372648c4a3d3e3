import Synchronization

/// The keyring as a file in the keys folder (JSON, mode 0600): the embedded store's source, and the format
/// every source stores (`KeyringFile`). Changes are serialised by a lock file beside it (`KeyringLock`) and
/// written by an atomic replace.
public final class FileKeyringSource: KeyringSource {
    public let path: String
    /// The file's stamp when it was last read, with the active KEK version it held then: while the stamp is
    /// unchanged, `isActiveKEK` answers with one `stat` and no read.
    private let seen: Mutex<(stamp: FileStamp, activeKEK: Int?)?>

    public init(path: String) {
        self.path = path
        self.seen = Mutex(nil)
    }

    public var name: String { path }
    public var anchorPath: String { AuditAnchor.path(keyringPath: path) }
    /// A read of the file each time: once a second, as before there were other sources.
    public var pickupInterval: Duration { .seconds(1) }

    public func read() throws(VaultError) -> KeyringFile {
        // The stamp before the read: a change after it makes the next stamp differ, never the reverse.
        let stamp = FileStamp.of(path)
        let file = try KeyringFile.read(at: path)
        if let stamp { seen.withLock { $0 = (stamp, file.activeKEK?.version) } }
        return file
    }

    public func changed(since generation: Int) throws(VaultError) -> KeyringFile? {
        let file = try read()
        return file.generation == generation ? nil : file
    }

    public func write(_ file: KeyringFile, replacing generation: Int?) throws(VaultError) {
        if generation == nil { try refuseExisting() }
        try FileSafety.writeAtomically(file.encoded(), to: path, replace: generation != nil)
    }

    /// cvault never overwrites a keyring: there is no getting its keys back. Checked before the KDF of a new
    /// keyring, which takes seconds, and again when it is written.
    public func refuseExisting() throws(VaultError) {
        guard FileStamp.of(path) == nil else {
            throw VaultError(
                .alreadyInitialized,
                "a keyring already exists at \(path)",
                hint: "cvault never overwrites a keyring; remove it yourself only if you mean to destroy the vault"
            )
        }
    }

    public func exclusively<T>(_ change: () async throws(VaultError) -> T) async throws(VaultError) -> T {
        let lock = try KeyringLock(keyringPath: path)
        defer { withExtendedLifetime(lock) {} }
        return try await change()
    }

    /// One `stat` when nothing changed since the file was last read. A rewrap cannot run while the SQLite
    /// write transaction asking this holds the write lock, so it always sees (and moves) what that
    /// transaction wraps; the file need not be read inside the transaction.
    public func isActiveKEK(_ version: Int, generation: Int, in writer: any StoreWriter) throws(VaultError) -> Bool {
        if let stamp = FileStamp.of(path), let known = seen.withLock({ $0 }), known.stamp == stamp {
            return known.activeKEK == version
        }
        return try read().activeKEK?.version == version
    }
}
