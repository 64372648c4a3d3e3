#if canImport(Glibc)
import Glibc
#endif
import Foundation
import VaultCore

/// Where the operator's passphrase comes from, in order: `--passphrase-file FILE`, `CVAULT_PASSPHRASE`, or a
/// no-echo prompt on the terminal. It goes straight into guarded memory; copies made on the way are wiped.
enum Passphrase {
    static func read(file: String?, confirm: Bool = false, ignoreEnvironment: Bool = false) throws -> SecureBytes {
        if let file {
            try FileSafety.requirePrivate(file, what: "passphrase file")
            var bytes = try FileSafety.readAll(file, what: "passphrase file")
            if bytes.last == 0x0A { bytes.removeLast() }
            if bytes.last == 0x0D { bytes.removeLast() }
            return try guarded(&bytes)
        }
        if !ignoreEnvironment, let env = ProcessInfo.processInfo.environment["CVAULT_PASSPHRASE"], !env.isEmpty {
            var bytes = Array(env.utf8)
            return SecureBytes(consuming: &bytes)
        }
        guard isatty(STDIN_FILENO) == 1 else {
            throw VaultError(.invalidRequest, "no passphrase given",
                             hint: "set CVAULT_PASSPHRASE, pass --passphrase-file FILE, or run on a terminal to be asked")
        }
        let first = try prompt("cvault passphrase: ")
        if confirm {
            let second = try prompt("repeat passphrase: ")
            guard first.constantTimeEquals(second) else {
                throw VaultError(.invalidRequest, "the two passphrases differ", hint: "run the command again")
            }
        }
        return first
    }

    /// Asks for `threshold` shares on the terminal, one per line, without echo.
    static func promptShares(threshold: Int) throws -> [UnsealShare] {
        guard isatty(STDIN_FILENO) == 1 else {
            throw VaultError(.invalidRequest, "this keyring is sealed by shares and none were given",
                             hint: "pass --unseal-share FILE \(threshold) times, or run on a terminal to type them")
        }
        return try (1...threshold).map { i throws -> UnsealShare in
            let line = try prompt("unseal share \(i) of \(threshold): ")
            return try line.withUnsafeBytes { try UnsealShare.parse(String(decoding: $0, as: UTF8.self), source: "share \(i)") }
        }
    }

    /// Reads one line from /dev/tty with echo off, restoring the terminal even on error.
    private static func prompt(_ text: String) throws -> SecureBytes {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw VaultError(.invalidRequest, "cannot open the terminal to ask for the passphrase", hint: "set CVAULT_PASSPHRASE instead") }
        defer { close(fd) }
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        var saved = termios()
        tcgetattr(fd, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(fd, TCSAFLUSH, &silent)
        defer { tcsetattr(fd, TCSAFLUSH, &saved); _ = Glibc.write(fd, "\n", 1) }
        var bytes: [UInt8] = []
        var c: UInt8 = 0
        while Glibc.read(fd, &c, 1) == 1, c != 0x0A { bytes.append(c) }
        c = 0
        return try guarded(&bytes)
    }

    /// Moves the bytes into guarded memory. An empty passphrase is refused here: guarded memory cannot
    /// hold zero bytes (`SecureBytes` stops the process), and an empty file or line is a mistake anyway.
    private static func guarded(_ bytes: inout [UInt8]) throws(VaultError) -> SecureBytes {
        guard !bytes.isEmpty else {
            throw VaultError(.invalidRequest, "the passphrase is empty",
                             hint: "put the passphrase in the file (one line), or type it at the prompt")
        }
        return SecureBytes(consuming: &bytes)
    }
}
