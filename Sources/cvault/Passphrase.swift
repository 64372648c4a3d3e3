import Foundation
import VaultCore

#if canImport(Glibc)
import Glibc
#endif

/// Where the operator's passphrase comes from, in order: `--passphrase-file FILE`, `CVAULT_PASSPHRASE`, or a
/// no-echo prompt on the terminal. It goes straight into guarded memory, never through a `String`; every
/// buffer it passes through on the way (the file's, the prompt's, the environment's own copy) is wiped.
enum Passphrase {
    static func read(file: String?, confirm: Bool = false, ignoreEnvironment: Bool = false) throws -> SecureBytes {
        if let file {
            try FileSafety.requirePrivate(file, what: "passphrase file")
            return try Secret.withFile(file, what: "passphrase file") { bytes throws(VaultError) in
                var count = bytes.count
                if count > 0, bytes[count - 1] == 0x0A { count -= 1 }
                if count > 0, bytes[count - 1] == 0x0D { count -= 1 }
                return try guarded(UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
            }
        }
        if !ignoreEnvironment, let secret = Secret.takeFromEnvironment("CVAULT_PASSPHRASE") {
            return secret
        }
        guard isatty(STDIN_FILENO) == 1 else {
            throw VaultError(
                .invalidRequest,
                "no passphrase given",
                hint: "set CVAULT_PASSPHRASE, pass --passphrase-file FILE, or run on a terminal to be asked"
            )
        }
        let first = try Secret.prompt("cvault passphrase: ") { bytes throws(VaultError) in try guarded(bytes) }
        if confirm {
            let second = try Secret.prompt("repeat passphrase: ") { bytes throws(VaultError) in try guarded(bytes) }
            guard first.constantTimeEquals(second) else {
                throw VaultError(.invalidRequest, "the two passphrases differ", hint: "run the command again")
            }
        }
        return first
    }

    /// Asks for `threshold` shares on the terminal, one per line, without echo.
    static func promptShares(threshold: Int) throws -> [UnsealShare] {
        guard isatty(STDIN_FILENO) == 1 else {
            throw VaultError(
                .invalidRequest,
                "this keyring is sealed by shares and none were given",
                hint: "pass --unseal-share FILE \(threshold) times, or run on a terminal to type them"
            )
        }
        return try (1...threshold).map { i throws -> UnsealShare in
            try Secret.prompt("unseal share \(i) of \(threshold): ") { bytes throws(VaultError) in
                try UnsealShare.parse(bytes: bytes, source: "share \(i)")
            }
        }
    }

    /// Copies the bytes into guarded memory. An empty passphrase is refused here: guarded memory cannot
    /// hold zero bytes (`SecureBytes` stops the process), and an empty file or line is a mistake anyway.
    private static func guarded(_ bytes: UnsafeRawBufferPointer) throws(VaultError) -> SecureBytes {
        guard !bytes.isEmpty else {
            throw VaultError(
                .invalidRequest,
                "the passphrase is empty",
                hint: "put the passphrase in the file (one line), or type it at the prompt"
            )
        }
        return SecureBytes(copying: bytes)
    }
}

/// Reading secrets (passphrases, shares) into buffers that are wiped after use: one buffer of a fixed size for
/// each, never grown (a grown array leaves its old copy behind in freed memory), and no `String` in between.
enum Secret {
    /// The longest passphrase or share line accepted (a share line is 126 bytes).
    static let maxBytes = 4096

    /// Takes a secret out of the environment. `getenv` gives the environment's own bytes (for a variable set
    /// when the process started, the block that /proc/PID/environ shows): they are copied into guarded memory,
    /// then overwritten in place, and the variable is removed, so neither this process's memory nor its
    /// /proc entry keeps them. Nil when the variable is unset or empty.
    static func takeFromEnvironment(_ name: String) -> SecureBytes? {
        guard let raw = getenv(name) else { return nil }
        let count = strlen(raw)
        defer {
            explicit_bzero(raw, count)
            unsetenv(name)
        }
        guard count > 0 else { return nil }
        return SecureBytes(copying: UnsafeRawBufferPointer(start: raw, count: count))
    }

    /// Reads a whole small file into one wiped buffer and passes its bytes to `body`.
    static func withFile<T>(
        _ path: String,
        what: String,
        _ body: (UnsafeRawBufferPointer) throws(VaultError) -> T
    ) throws(VaultError) -> T {
        let fd = try openFile(
            path,
            O_RDONLY,
            or: VaultError(
                .notInitialized,
                "cannot read \(what) \(path)",
                hint: "check that it exists and that you may read it"
            )
        )
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: maxBytes + 1)
        defer { ConstantTime.wipe(&buffer) }
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else {
                throw VaultError(.notInitialized, "cannot read \(what) \(path)", hint: "check that you may read it")
            }
            if n == 0 { break }
            total += n
        }
        guard total <= maxBytes else {
            throw VaultError(
                .invalidRequest,
                "\(what) \(path) is longer than \(maxBytes) bytes",
                hint: "it holds one line"
            )
        }
        return try buffer.withUnsafeBytes { raw in
            Result { () throws(VaultError) in try body(UnsafeRawBufferPointer(rebasing: raw[0..<total])) }
        }.get()
    }

    /// Reads one line from /dev/tty with echo off, restoring the terminal even on error, and passes its bytes
    /// (without the newline) to `body`; the buffer is wiped afterwards.
    static func prompt<T>(
        _ text: String,
        _ body: (UnsafeRawBufferPointer) throws(VaultError) -> T
    ) throws(VaultError) -> T {
        let fd = try openFile(
            "/dev/tty",
            O_RDWR,
            or: VaultError(
                .invalidRequest,
                "cannot open the terminal to ask for the passphrase",
                hint: "set CVAULT_PASSPHRASE instead"
            )
        )
        defer { close(fd) }
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        var saved = termios()
        tcgetattr(fd, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(fd, TCSAFLUSH, &silent)
        defer {
            tcsetattr(fd, TCSAFLUSH, &saved)
            _ = Glibc.write(fd, "\n", 1)
        }
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        defer { ConstantTime.wipe(&buffer) }
        var count = 0
        var c: UInt8 = 0
        defer { c = 0 }
        while Glibc.read(fd, &c, 1) == 1, c != 0x0A {
            guard count < maxBytes else {
                throw VaultError(
                    .invalidRequest,
                    "the line typed is longer than \(maxBytes) bytes",
                    hint: "type it again"
                )
            }
            buffer[count] = c
            count += 1
        }
        if count > 0, buffer[count - 1] == 0x0D { count -= 1 }
        return try buffer.withUnsafeBytes { raw in
            Result { () throws(VaultError) in try body(UnsafeRawBufferPointer(rebasing: raw[0..<count])) }
        }.get()
    }

    /// Opens `path` close-on-exec (no child process inherits a descriptor that reads a secret), or throws
    /// `failure`: each caller says in its own words what could not be read.
    private static func openFile(
        _ path: String,
        _ flags: Int32,
        or failure: @autoclosure () -> VaultError
    ) throws(VaultError) -> Int32 {
        let fd = open(path, flags | O_CLOEXEC)
        guard fd >= 0 else { throw failure() }
        return fd
    }
}
