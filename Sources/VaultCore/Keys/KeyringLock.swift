#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock (`flock`) on `<keyring>.lock`, held while a keyring is read, changed and written, so
/// two admins rotating at once cannot both write generation N+1 and lose one change.
final class KeyringLock {
    private let fd: Int32

    convenience init(keyringPath: String) throws(VaultError) {
        try self.init(lockPath: keyringPath + ".lock")
    }

    /// An exclusive lock on the file at `path` (created 0600 if missing); also guards the audit anchor.
    init(lockPath path: String) throws(VaultError) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileSafety.ioError("open lock file", path) }
        // On failure below, `deinit` still runs (every stored property is set) and closes the descriptor:
        // closing it here too would be a double close, which can pull a reused descriptor number from under
        // another thread.
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw FileSafety.ioError("lock", path) }
        }
    }

    deinit {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
    }
}
