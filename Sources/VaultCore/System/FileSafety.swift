import Foundation
import SystemPackage

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
        let file: FileDescriptor
        do {
            file = try createNew(temp, .writeOnly)
        } catch {
            throw ioError("create", temp, error)
        }
        // Each step's error is the one its own call set: the clean-up (`close`, `unlink`) runs after it is
        // caught, so it cannot change the cause the message names.
        do {
            try file.closeAfter {
                _ = try file.writeAll(bytes)
                try SystemCall.run { fsync(file.rawValue) }
            }
        } catch {
            unlink(temp)
            throw ioError("write", temp, error)
        }
        do throws(Errno) {
            if replace {
                try SystemCall.run { rename(temp, path) }
            } else {
                try SystemCall.run { link(temp, path) }
            }
        } catch {
            unlink(temp)
            if error == .fileExists && !replace {
                throw VaultError(
                    .alreadyInitialized,
                    "\(path) already exists",
                    hint: "cvault never overwrites it; remove it yourself only if you mean to"
                )
            }
            throw ioError(replace ? "rename into" : "create", path, error)
        }
        if !replace { unlink(temp) }
        try syncFolder(folder.isEmpty ? "." : folder)
    }

    /// Opens a new file at `path`, mode 0600 (before umask), close-on-exec, failing if anything is there:
    /// O_CREAT|O_EXCL makes the check and the creation one step, with no window for another process.
    package static func createNew(_ path: String, _ access: FileDescriptor.AccessMode) throws -> FileDescriptor {
        try FileDescriptor.open(
            FilePath(path),
            access,
            options: [.create, .exclusiveCreate, .closeOnExec],
            permissions: .ownerReadWrite
        )
    }

    /// fsync of a folder, so a rename or a new file in it survives a crash.
    public static func syncFolder(_ folder: String) throws(VaultError) {
        let directory: FileDescriptor
        do {
            directory = try FileDescriptor.open(FilePath(folder), .readOnly, options: [.directory, .closeOnExec])
        } catch {
            throw ioError("open folder", folder, error)
        }
        do {
            _ = try directory.closeAfter { try SystemCall.run { fsync(directory.rawValue) } }
        } catch {
            throw ioError("fsync folder", folder, error)
        }
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

    /// The error for a failed file operation, naming the cause `error` carries (an `Errno` from the call
    /// that failed), never whatever `errno` holds by the time the message is built.
    static func ioError(_ action: String, _ path: String, _ error: any Error) -> VaultError {
        let reason = (error as? Errno).map(\.description) ?? "\(error)"
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
