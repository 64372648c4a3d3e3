import Foundation
import Testing
import VaultTestSupport

/// The private PostgreSQL cluster the PostgreSQL tests run on: `Tools/test` starts it with `Tools/postgres`
/// and names it in CVAULT_TEST_POSTGRES. These check, through the test process, that it is there and that it
/// is the cluster `Tools/postgres` promises: a server that is not root, reachable through its own socket
/// folder only, with durability on (the tests that kill servers count on an acknowledged write being on disk).
@Suite struct PostgresClusterTests {
    @Test func theClusterAnswers() async throws {
        try await PostgresTestDatabase.with { database throws in
            #expect(try database.run("SELECT 6 * 7") == "42")
            #expect(try database.run("SELECT current_user") == "cvault")
            #expect(try database.run("SELECT current_database()") == database.name)
        }
    }

    /// PostgreSQL refuses to start as root; `Tools/postgres` run as root starts it as a system user instead.
    /// Both the server process (the postmaster, whose pid heads `postmaster.pid` in the data folder) and the
    /// owner of the data folder must be that user.
    @Test func itsServerDoesNotRunAsRoot() async throws {
        let dataFolder = try await PostgresTestDatabase.with { database throws in
            try database.run("SELECT current_setting('data_directory')")
        }
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
    @Test func onlyItsOwnSocketFolderReachesIt() async throws {
        let (listening, folder) = try await PostgresTestDatabase.with { database throws in
            (try database.run("SHOW listen_addresses"), try database.run("SHOW unix_socket_directories"))
        }
        #expect(listening == "")
        var info = stat()
        try #require(stat(folder, &info) == 0, "cannot stat the socket folder \(folder)")
        #expect(info.st_mode & S_IFMT == S_IFDIR)
        #expect(info.st_mode & 0o007 == 0, "others may enter the socket folder \(folder)")
    }

    @Test func itKeepsDurabilityOn() async throws {
        try await PostgresTestDatabase.with { database throws in
            #expect(try database.run("SHOW fsync") == "on")
            #expect(try database.run("SHOW synchronous_commit") == "on")
            #expect(try database.run("SHOW full_page_writes") == "on")
        }
    }
}
