import SystemPackage
import VaultCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The database file on disk: created private before SQLite ever touches it, and refused when it is not.
/// The only file of this module that opens files itself (through swift-system's `FileDescriptor`).
enum DatabaseFile {
    /// SQLite's side files. They hold the same data as the database (the WAL holds recent rows), and SQLite
    /// creates them with the database file's mode.
    static func sideFiles(of path: String) -> [String] { [path + "-wal", path + "-shm", path + "-journal"] }

    /// Creates an empty file at `path`, mode 0600, failing if anything is there already.
    ///
    /// O_CREAT|O_EXCL makes the check and the creation one step (no window for another process), and the
    /// mode is set before any byte is written. fchmod repeats it because open's mode is filtered by umask.
    /// `existing` is the error for a file already at `path`.
    static func createPrivate(_ path: String, existing: (String) -> VaultError) throws {
        for side in sideFiles(of: path) where exists(side) {
            // A leftover WAL would be replayed into the new database: refuse rather than guess.
            throw existing(side)
        }
        let file: FileDescriptor
        do {
            file = try FileSafety.createNew(path, .readWrite)
        } catch Errno.fileExists {
            throw existing(path)
        } catch {
            throw systemError(error, "creating \(path)")
        }
        defer { try? file.close() }
        do throws(Errno) {
            try SystemCall.run { fchmod(file.rawValue, 0o600) }
        } catch {
            throw systemError(error, "setting mode 0600 on \(path)")
        }
        syncFolder(of: path)
    }

    /// Checks that an existing database may be opened: it exists, is a regular file, and neither it nor its
    /// side files are readable or writable by group or others (they hold ciphertext, wrapped keys and the
    /// audit log; encrypted is not a reason to publish them).
    static func checkExisting(_ path: String) throws {
        guard let mode = mode(of: path) else {
            throw VaultError(
                .notInitialized,
                "no vault database at \(path)",
                hint: "run `cvault init` to create one, or check the path"
            )
        }
        guard mode & S_IFMT == S_IFREG else {
            throw VaultError(.storage, "\(path) is not a regular file", hint: "check the path to the vault database")
        }
        let exposed = ([path] + sideFiles(of: path)).filter { file in
            guard let mode = self.mode(of: file) else { return false }
            return mode & 0o066 != 0
        }
        guard exposed.isEmpty else {
            let command = "chmod 600 " + exposed.map(shellQuoted).joined(separator: " ")
            let modes = exposed.map { "\($0) has mode \(octal(self.mode(of: $0) ?? 0))" }.joined(separator: ", ")
            throw VaultError(
                .permissions,
                "the vault database is readable or writable by group or others (\(modes)); fix it with `\(command)`",
                hint: "run `\(command)`, then check who could have copied the file meanwhile"
            )
        }
    }

    /// Removes `path` and its side files (after a failed create or backup, so a retry can start over).
    static func remove(_ path: String) {
        for file in [path] + sideFiles(of: path) { unlink(file) }
    }

    /// Makes a new directory entry durable: fsync on the file covers its contents, not its name.
    static func syncFolder(of path: String) {
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        guard
            let directory = try? FileDescriptor.open(FilePath(folder), .readOnly, options: [.directory, .closeOnExec])
        else { return }
        _ = try? directory.closeAfter { try SystemCall.run { fsync(directory.rawValue) } }
    }

    private static func exists(_ path: String) -> Bool { mode(of: path) != nil }

    private static func mode(of path: String) -> mode_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode : nil
    }

    private static func octal(_ mode: mode_t) -> String {
        let digits = String(mode & 0o777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// The path as it must be typed in a shell: unchanged if plain, else single-quoted.
    static func shellQuoted(_ path: String) -> String {
        let plain = path.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "/._-+,:@%".utf8.contains(byte)
        }
        return plain && !path.isEmpty ? path : "'" + path.replacingAll("'", with: "'\\''") + "'"
    }

    private static func systemError(_ error: any Error, _ what: String) -> VaultError {
        let code = error as? Errno
        let reason = code?.description ?? "\(error)"
        if code == .permissionDenied || code == .notPermitted {
            return VaultError(
                .storage,
                "\(what) failed: \(reason)",
                hint: "check that the folder exists and is writable by the user running cvault"
            )
        }
        return VaultError(.storage, "\(what) failed: \(reason)", hint: "check the path and the disk, then retry")
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}
