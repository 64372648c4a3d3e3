import Foundation
import Testing

/// The private PostgreSQL cluster the PostgreSQL tests run on: `Tools/test` starts it with `Tools/postgres`
/// and names it in CVAULT_TEST_POSTGRES. These check, through the test process, that it is there and that it
/// is the cluster `Tools/postgres` promises: a server that is not root, reachable through its own socket
/// folder only, with durability on (the tests that kill servers count on an acknowledged write being on disk).
@Suite struct PostgresClusterTests {
    @Test func theClusterAnswers() throws {
        #expect(try Self.psql("SELECT 6 * 7") == "42")
        #expect(try Self.psql("SELECT current_user") == "cvault")
    }

    /// PostgreSQL refuses to start as root; `Tools/postgres` run as root starts it as a system user instead.
    /// Both the server process (the postmaster, whose pid heads `postmaster.pid` in the data folder) and the
    /// owner of the data folder must be that user.
    @Test func itsServerDoesNotRunAsRoot() throws {
        let dataFolder = try Self.psql("SELECT current_setting('data_directory')")
        var info = stat()
        try #require(stat(dataFolder, &info) == 0, "cannot stat the data folder \(dataFolder)")
        #expect(info.st_uid != 0, "the data folder \(dataFolder) belongs to root")

        let pidFile = try String(contentsOfFile: dataFolder + "/postmaster.pid", encoding: .utf8)
        let server = try #require(pidFile.split(separator: "\n").first.flatMap { Int32($0) })
        let status = try String(contentsOfFile: "/proc/\(server)/status", encoding: .utf8)
        let uidLine = try #require(status.split(separator: "\n").first { $0.hasPrefix("Uid:") })
        // Real, effective, saved and file-system uid.
        let uids = uidLine.dropFirst("Uid:".count).split(whereSeparator: \.isWhitespace).compactMap { UInt32($0) }
        #expect(uids.count == 4)
        #expect(!uids.contains(0), "the PostgreSQL server runs as root: \(uidLine)")
    }

    /// Connections are trusted without a password, so the socket folder is the only wall: no TCP listener, and
    /// a folder that other users cannot enter.
    @Test func onlyItsOwnSocketFolderReachesIt() throws {
        #expect(try Self.psql("SHOW listen_addresses") == "")
        let folder = try Self.psql("SHOW unix_socket_directories")
        var info = stat()
        try #require(stat(folder, &info) == 0, "cannot stat the socket folder \(folder)")
        #expect(info.st_mode & S_IFMT == S_IFDIR)
        #expect(info.st_mode & 0o007 == 0, "others may enter the socket folder \(folder)")
    }

    @Test func itKeepsDurabilityOn() throws {
        #expect(try Self.psql("SHOW fsync") == "on")
        #expect(try Self.psql("SHOW synchronous_commit") == "on")
        #expect(try Self.psql("SHOW full_page_writes") == "on")
    }

    /// Runs one statement with psql on the cluster and returns its one value, trimmed.
    private static func psql(_ sql: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let uri = try #require(
            ProcessInfo.processInfo.environment["CVAULT_TEST_POSTGRES"],
            "CVAULT_TEST_POSTGRES is not set: run the tests with Tools/test, which starts a private PostgreSQL cluster",
            sourceLocation: sourceLocation
        )
        let folder = try makeTemporaryFolder(prefix: "cvault-psql")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let process = try spawn(
            "/usr/bin/psql",
            ["--no-psqlrc", "--tuples-only", "--no-align", "--quiet", "--set=ON_ERROR_STOP=1", "--dbname=\(uri)"]
                + ["--command=\(sql)"],
            environment: ["PATH": "/usr/bin:/bin", "HOME": folder, "LANG": "C.UTF-8"],
            directory: folder,
            stdout: folder + "/out",
            stderr: folder + "/err"
        )
        try waitForProcessExit(process, timeout: 60)
        let output = String(decoding: FileManager.default.contents(atPath: folder + "/out") ?? Data(), as: UTF8.self)
        let errors = String(decoding: FileManager.default.contents(atPath: folder + "/err") ?? Data(), as: UTF8.self)
        try #require(process.terminationStatus == 0, "psql failed: \(errors)", sourceLocation: sourceLocation)
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
