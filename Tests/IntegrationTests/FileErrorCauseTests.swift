import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A file cvault fails to write is reported with the cause of that failure, not with whatever a clean-up call
/// (closing the file, unlinking the temporary) left in `errno` by the time the message was built.
@Suite struct FileErrorCauseTests {
    /// `restore` writes the database copy with `FileSafety.writeAtomically`, its first write. Under a file-size
    /// limit of 512 bytes (`ulimit -f 1`, SIGXFSZ ignored) that write fails with EFBIG; in an append-only folder
    /// (`chattr +a`: entries can be added, never removed) the temporary it leaves cannot be unlinked (EPERM).
    /// The message must name the write's cause. Setting the append-only flag needs root.
    @Test(.enabled(if: getuid() == 0, "chattr +a needs CAP_LINUX_IMMUTABLE"))
    func aFailedWriteNamesItsOwnCauseNotTheCleanUps() async throws {
        try await VaultFixture.with { vault in
            _ = try await vault.tokenize("text", subject: "cause", ["kept"])
            let backup = vault.root + "/backup"
            try #require(try await vault.cvault(["backup", backup]).status == 0)
            let data = vault.root + "/append-only"
            try #require(mkdir(data, 0o700) == 0)
            let environment = ["PATH": "/usr/bin:/bin"]
            let flagged = try runProcess(
                "/usr/bin/chattr",
                ["+a", data],
                environment: environment,
                directory: vault.root
            )
            try #require(flagged.status == 0, "chattr +a: \(flagged.stderr)")
            defer {
                _ = try? runProcess("/usr/bin/chattr", ["-a", data], environment: environment, directory: vault.root)
            }

            var env = vault.environment
            env["CVAULT_DATA"] = data
            let restore = try runProcess(
                "/bin/sh",
                ["-c", #"trap '' XFSZ; ulimit -f 1; exec "$0" restore "$1""#, ServerBinaries.cvault, backup],
                environment: env,
                directory: vault.root
            )
            #expect(restore.status != 0)
            #expect(
                restore.stderr.contains("cannot write \(data)/cvault.db.tmp: File too large"),
                "the write's own cause: \(restore.stderr)"
            )
            #expect(!restore.stderr.contains("Operation not permitted"), "not the failed unlink's")
        }
    }
}
