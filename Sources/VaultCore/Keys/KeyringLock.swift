import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock (`flock`) on `<keyring>.lock`, held while a keyring is read, changed and written, so
/// two admins rotating at once cannot both write generation N+1 and lose one change.
final class KeyringLock {
    private let file: FileDescriptor

    convenience init(keyringPath: String) throws(VaultError) {
        try self.init(lockPath: keyringPath + ".lock")
    }

    /// An exclusive lock on the file at `path` (created 0600 if missing); also guards the audit anchor.
    init(lockPath path: String) throws(VaultError) {
        do {
            file = try FileDescriptor.open(
                FilePath(path),
                .readWrite,
                options: [.create, .closeOnExec],
                permissions: .ownerReadWrite
            )
        } catch {
            throw FileSafety.ioError("open lock file", path, error)
        }
        // On failure below, `deinit` still runs (every stored property is set) and closes the descriptor:
        // closing it here too would be a double close, which can pull a reused descriptor number from under
        // another thread.
        do {
            try SystemCall.run { flock(file.rawValue, LOCK_EX) }
        } catch {
            throw FileSafety.ioError("lock", path, error)
        }
    }

    deinit {
        flock(file.rawValue, LOCK_UN)
        try? file.close()
    }
}
