import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What a process holding keys leaves about: its environment, its crash reporting, its memory locking.
@Suite(.timeLimit(.minutes(10)))
struct ProcessHardeningTests {
    /// The environment of a running `cvault serve`, as any process of its uid (or root) reads it: the block
    /// the kernel shows is the one the process started with, so this is where a passphrase given in
    /// CVAULT_PASSPHRASE would stay readable for the server's whole life.
    @Test func serveRunsWithTheBacktracerOffAndNoPassphraseInItsEnvironment() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        let environ = try #require(FileManager.default.contents(atPath: "/proc/\(server.pid)/environ"))
        let entries = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        // The Swift runtime reads SWIFT_BACKTRACE at start-up: cvault re-executed itself with it off.
        // Bools only: a failure must not print the environment (it holds the test passphrase on the old code).
        let names = entries.map { String($0.prefix(while: { $0 != "=" })) }
        let backtracerOff = entries.contains("SWIFT_BACKTRACE=enable=no")
        #expect(backtracerOff, "variables: \(names)")
        // The passphrase was read into guarded memory, then overwritten in place and removed (the variable's
        // name stays in the block, followed by zeros).
        let valueLeft = entries.contains { $0.hasPrefix("CVAULT_PASSPHRASE=") && $0 != "CVAULT_PASSPHRASE=" }
        let passphraseLeft = environ.range(of: Data(ServerHarness.passphrase.utf8)) != nil
        #expect(!valueLeft && !passphraseLeft, "the passphrase is still in /proc/PID/environ")
        // The server works after all of that.
        let tokens = try server.tokenize(kind: "text", subject: "environ", values: ["after the re-exec"])
        #expect(try server.allRevealPlain(tokens, as: ["after the re-exec"]))
    }

    /// A SWIFT_BACKTRACE the operator set is kept (to debug a crash on purpose), and `status` says the
    /// backtracer is on.
    @Test func anOperatorsBacktraceSettingIsKeptAndWarnedAbout() async throws {
        try await VaultFixture.with { vault in
            let on = try await vault.cvault(["status"], environment: ["SWIFT_BACKTRACE": "enable=yes"])
            #expect(on.status == 0, "\(on.stderr)")
            #expect(
                on.stderr.contains("cvault: warning: the Swift crash backtracer is on (SWIFT_BACKTRACE=enable=yes)")
            )
            let off = try await vault.cvault(["status"])
            #expect(off.status == 0)
            #expect(!off.stderr.contains("backtracer"))
        }
    }

    /// `sodium_malloc` ignores an `mlock` failure, so cvault checks for itself. With RLIMIT_MEMLOCK 0 and no
    /// CAP_IPC_LOCK (dropped from the bounding set when the tests run as root), `status` warns and says how to
    /// raise the limit; `serve` logs the same at start.
    @Test func aMemoryLockLimitTooLowIsReportedByStatusAndServe() async throws {
        try await VaultFixture.with { vault in
            let lowered = ["/bin/sh", "-c", "ulimit -l 0 && exec \"$0\" \"$@\"", CVaultProcess.executable]
            let prefix = getuid() == 0 ? ["/usr/bin/setpriv", "--bounding-set=-ipc_lock", "--"] + lowered : lowered
            var environment = vault.environment
            environment["PATH"] = "/usr/bin:/bin"
            let low = try runProcess(
                prefix[0],
                Array(prefix.dropFirst()) + ["status"],
                environment: environment,
                directory: vault.root,
                timeout: 120
            )
            #expect(low.status == 0, "\(low.stderr)")
            #expect(low.stderr.contains("cvault: warning: key memory cannot be locked"), "\(low.stderr)")
            #expect(low.stderr.contains("RLIMIT_MEMLOCK is 0 KiB"))
            #expect(low.stderr.contains("cvault: hint: raise the limit") && low.stderr.contains("LimitMEMLOCK"))
            // Where locking works (root keeps CAP_IPC_LOCK), nothing is said.
            if getuid() == 0 {
                let normal = try await vault.cvault(["status"])
                #expect(normal.status == 0 && !normal.stderr.contains("key memory"), "\(normal.stderr)")
            }
        }
        let server = try ServerHarness()
        defer { server.destroy() }
        let lowered = ["/bin/sh", "-c", "ulimit -l 0 && exec \"$0\" \"$@\"", ServerBinaries.cvault]
        let prefix = getuid() == 0 ? ["/usr/bin/setpriv", "--bounding-set=-ipc_lock", "--"] + lowered : lowered
        let log = server.dir + "/serve-low.err"
        let process = try spawn(
            prefix[0],
            Array(prefix.dropFirst()) + server.serveArguments(),
            environment: server.environment,
            directory: server.dir,
            stdout: server.dir + "/serve-low.out",
            stderr: log
        )
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? waitForProcessExit(process, timeout: 30)
        }
        #expect(
            server.eventually {
                ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("key memory cannot be locked")
            },
            "serve did not warn: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")"
        )
    }
}
