import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// File-system rules for anything that holds keys or ciphertext: private modes, refusal of files others can
/// read, and atomic replacement.
public enum FileSafety {
    /// Refuses a file that group or others can read or write, naming the file and the command that fixes it.
    public static func requirePrivate(_ path: String, what: String) throws(VaultError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw VaultError.about(
                .vaultFiles,
                .notInitialized,
                "\(what) \(path) does not exist",
                hint: "run `cvault init` first, or check where the vault's keys and data folders are"
            )
        }
        let mode = info.st_mode & 0o777
        if mode & 0o077 != 0 {
            throw VaultError(
                .permissions,
                "\(what) \(path) is accessible to group or others (mode \(String(mode, radix: 8)))",
                hint: "run `chmod 600 \(path)`"
            )
        }
    }

    /// Creates `path` as a folder with mode 0700 if it does not exist (parents too).
    public static func makePrivateFolder(_ path: String) throws(VaultError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw VaultError(.invalidRequest, "\(path) exists and is not a folder", hint: "choose another folder")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw VaultError(
                .storage,
                "cannot create folder \(path): \(error.localizedDescription)",
                hint: "check the parent folder's permissions"
            )
        }
        chmod(path, 0o700)
    }

    /// Writes `bytes` to `path` atomically and durably: a private temporary file in the same folder,
    /// fsync, rename over the target, fsync of the folder. A crash leaves the old file or the new one,
    /// never a mix.
    /// With `replace: false` the final step is `link(2)`, which fails if the target exists, so two processes
    /// creating the same file at once cannot overwrite each other (`.alreadyInitialized`).
    public static func writeAtomically(_ bytes: [UInt8], to path: String, replace: Bool = true) throws(VaultError) {
        let folder = (path as NSString).deletingLastPathComponent
        let temp = path + ".tmp"
        unlink(temp)  // a stale temporary from a crash is never the live file
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ioError("create", temp) }
        var ok = bytes.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok else {
            unlink(temp)
            throw ioError("write", temp)
        }
        if replace {
            guard rename(temp, path) == 0 else {
                unlink(temp)
                throw ioError("rename into", path)
            }
        } else {
            let linked = link(temp, path) == 0
            let exists = errno == EEXIST
            unlink(temp)
            if !linked {
                if exists {
                    throw VaultError(
                        .alreadyInitialized,
                        "\(path) already exists",
                        hint: "cvault never overwrites it; remove it yourself only if you mean to"
                    )
                }
                throw ioError("create", path)
            }
        }
        try syncFolder(folder.isEmpty ? "." : folder)
    }

    /// fsync of a folder, so a rename or a new file in it survives a crash.
    public static func syncFolder(_ folder: String) throws(VaultError) {
        let dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw ioError("open folder", folder) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw ioError("fsync folder", folder) }
    }

    public static func readAll(_ path: String, what: String) throws(VaultError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VaultError(
                .notInitialized,
                "cannot read \(what) \(path)",
                hint: "check that it exists and that you may read it"
            )
        }
        return [UInt8](data)
    }

    static func ioError(_ action: String, _ path: String) -> VaultError {
        let reason = String(cString: strerror(errno))
        return VaultError(
            .storage,
            "cannot \(action) \(path): \(reason)",
            hint: "check the folder's permissions and free space"
        )
    }
}

/// A file's identity and version as `stat(2)` sees it: an atomic replace (new inode) or any write changes it.
/// Cheap enough to check on a hot path.
public struct FileStamp: Equatable, Sendable {
    var device: UInt64, inode: UInt64, size: Int64, seconds: Int, nanoseconds: Int

    public static func of(_ path: String) -> FileStamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileStamp(
            device: UInt64(info.st_dev),
            inode: UInt64(info.st_ino),
            size: Int64(info.st_size),
            seconds: info.st_mtim.tv_sec,
            nanoseconds: info.st_mtim.tv_nsec
        )
    }
}
