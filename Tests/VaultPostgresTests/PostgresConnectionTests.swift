import Testing
import VaultCore

@testable import VaultPostgres

/// How `PostgresConnection` treats a failure libpq made itself while `PQstatus` still says the connection is
/// up: against a scripted server, since a real one fails that way only by chance (a backend killed at the
/// wrong moment under load, seen as a `-32006` without its reason during an outage).
@Suite struct PostgresConnectionTests {
    /// The two shapes such a failure takes in libpq 15: a result it made (status FATAL_ERROR, no SQLSTATE, no
    /// fields), or no result at all.
    enum LibpqFailure: CaseIterable, CustomTestStringConvertible {
        case resultWithoutSQLState
        case noResult

        /// What the scripted server answers, ending with ReadyForQuery in `state`.
        func reply(state: UInt8) -> ScriptedPostgresServer.Reply {
            typealias Server = ScriptedPostgresServer
            switch self {
            case .resultWithoutSQLState:
                return [Server.unannouncedDataRow, Server.commandComplete("SELECT 0"), Server.ready(state)]
            case .noResult:
                return [Server.truncatedRowDescription, Server.ready(state)]
            }
        }

        var testDescription: String { "\(self)" }
    }

    /// The first statement of a transaction fails inside libpq: the connection is reset and the statement run
    /// once more, as for a connection libpq knows is lost, instead of the request failing as a storage error.
    @Test(arguments: LibpqFailure.allCases)
    func aStatementLibpqCouldNotReadIsRunAgainOnANewSession(_ failure: LibpqFailure) throws {
        let server = try ScriptedPostgresServer { connection, sql in
            if sql.hasPrefix("SET ") { return ScriptedPostgresServer.sessionSetUp }
            if connection == 1 { return failure.reply(state: UInt8(ascii: "I")) }
            return [ScriptedPostgresServer.commandComplete("BEGIN"), ScriptedPostgresServer.ready(UInt8(ascii: "T"))]
        }
        defer { server.stop() }
        let db = try PostgresConnection(url: try PostgresURL(server.uri))
        defer { db.close() }
        let tag = try db.opening { try db.simple("BEGIN", what: "starting a write transaction") }
        #expect(tag == "BEGIN")
        #expect(db.inTransaction)
        #expect(server.connections == 2)
        #expect(server.queries.filter { $0 == "BEGIN" }.count == 2)
    }

    /// Inside a transaction the same failure is `storeUnavailable` (the group fails as for a lost connection,
    /// never as a bug), names libpq's own message, and the next use starts on a new session.
    @Test(arguments: LibpqFailure.allCases)
    func aLibpqFailureInsideATransactionIsUnavailableAndResetsTheSession(_ failure: LibpqFailure) throws {
        let server = try ScriptedPostgresServer { connection, sql in
            if sql.hasPrefix("SET ") { return ScriptedPostgresServer.sessionSetUp }
            if connection == 1 { return failure.reply(state: UInt8(ascii: "T")) }
            return [
                ScriptedPostgresServer.commandComplete("SELECT 0"), ScriptedPostgresServer.ready(UInt8(ascii: "I")),
            ]
        }
        defer { server.stop() }
        let db = try PostgresConnection(url: try PostgresURL(server.uri))
        defer { db.close() }
        #expect(db.isConnected)
        let error = #expect(throws: VaultError.self) { try db.simple("SELECT 1", what: "reading a row") }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("reading a row failed: the database cannot be reached (") == true)
        #expect(error?.message.contains("message") == true)  // libpq's own words, naming the message it refused
        #expect(!db.isConnected)
        try db.reconnectIfNeeded()
        #expect(db.isConnected)
        #expect(try db.simple("SELECT 1", what: "reading a row") == "SELECT 0")
        #expect(server.connections == 2)
    }
}
