import CLibPQ
import Foundation
import VaultCore
import VaultStoreRuntime

/// One PostgreSQL connection: owns the `PGconn*`, prepares each statement once per connection, runs it with
/// binary parameters and results (or, for a write job's inserts, sends it in pipeline mode and reads the answer
/// later: `executeLater`, `settle`), turns failures into `VaultError`s, and reconnects after the server was lost.
/// With `PostgresValue.swift`, the only file that calls libpq.
///
/// `@unchecked Sendable` because a `PGconn` must not be used by two threads at once. Access is serialized by
/// confinement, as for `SQLiteConnection`: a connection is made on the opening thread and handed once to
/// exactly one store thread (the writer, a reader, the maintenance worker), which alone uses it from then on.
final class PostgresConnection: @unchecked Sendable {
    let url: PostgresURL
    private var handle: OpaquePointer?
    /// Prepared statements by SQL text. Prepared statements belong to the server session, so a reconnect
    /// forgets them all.
    private var prepared: [String: String] = [:]
    /// When the last failed reconnect happened and how long to wait before the next: a database that is down
    /// gets one attempt per pause (50 ms, doubling to 2 s), and the calls in between fail at once with
    /// `storeUnavailable` instead of each waiting for a connect that will fail.
    private var retryAfter: ContinuousClock.Instant?
    private var backoff: Duration = .zero
    /// Set when libpq itself failed a statement (a result without a SQLSTATE: the server sent no error, so the
    /// socket or the protocol state failed on this side) while `PQstatus` still says the connection is up. Such
    /// a connection is not used again: the next use resets it, as for one libpq knows is lost.
    private var untrusted = false
    /// Set by the writer while a job's closure runs (`GroupDatabase.guardsTransaction`).
    var guardsTransaction = false
    /// Statements sent in pipeline mode whose answers are not read yet (`executeLater`), in the order sent.
    private var unread: [Unread] = []

    private struct Unread {
        let what: String
        /// How many rows it must change, or nil for any number.
        let rows: Int?
        /// What it throws if it changed another number.
        let mismatch: VaultError?
    }

    /// Connects (blocking) and sets the session up; fails with `storeUnavailable` if the server cannot be
    /// reached or refuses the login.
    init(url: PostgresURL) throws {
        self.url = url
        guard let conn = PQconnectdb(url.raw) else {
            throw VaultError(.storeUnavailable, "connecting to PostgreSQL failed: out of memory")
        }
        handle = conn
        guard PQstatus(conn) == CONNECTION_OK else {
            let error = unavailable("connecting to PostgreSQL at \(url.redacted)")
            close()
            throw error
        }
        try setUpSession()
    }

    deinit { close() }

    /// Closes the connection. Idempotent.
    func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        prepared = [:]
        unread = []
    }

    /// libpq prints notices (a VACUUM's warnings, say) to stderr unless told otherwise: none of them is for
    /// the server's output. Every connection runs with `synchronous_commit` on whatever the database's
    /// default: a write is acknowledged only once its commit is durable.
    private func setUpSession() throws {
        guard let handle else { throw VaultError.storeClosed }
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        _ = try simple(
            "SET synchronous_commit = on; SET client_encoding = 'UTF8'; SET standard_conforming_strings = on",
            what: "setting up a database session"
        )
    }

    // MARK: Connection health

    /// True when the connection is up as far as libpq knows (a server that went away shows only at the next
    /// statement).
    var isConnected: Bool { !untrusted && (handle.map { PQstatus($0) == CONNECTION_OK } ?? false) }

    /// The transaction state: a group or read is under way while `inTransaction`.
    var inTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// True while a transaction is open and no statement in it has failed (only then can it commit).
    var transactionIsHealthy: Bool { handle.map { PQtransactionStatus($0) == PQTRANS_INTRANS } ?? false }

    /// Reconnects if the connection was lost: `PQreset` with the same parameters, then the session set-up
    /// again. Between failed attempts it waits out the backoff (failing at once meanwhile) unless `now`.
    func reconnectIfNeeded(now: Bool = false) throws {
        guard let handle else { throw VaultError.storeClosed }
        if isConnected { return }
        if !now, let retryAfter, ContinuousClock.now < retryAfter {
            throw unavailable("reconnecting to PostgreSQL at \(url.redacted)")
        }
        prepared = [:]
        unread = []
        untrusted = false
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            backoff = min(max(backoff * 2, .milliseconds(50)), .seconds(2))
            retryAfter = ContinuousClock.now + backoff
            throw unavailable("reconnecting to PostgreSQL at \(url.redacted)")
        }
        backoff = .zero
        retryAfter = nil
        try setUpSession()
    }

    /// Runs `first`, the statement that opens a transaction, on a live connection: if the server had gone
    /// away since the last use (restarted, or the backend was terminated), the failure shows here, before
    /// anything of the transaction ran, so reconnecting and running it once more is safe.
    @discardableResult
    func opening<T>(_ first: () throws -> T) throws -> T {
        try reconnectIfNeeded()
        do {
            return try first()
        } catch let error as VaultError where error.code == .storeUnavailable && !isConnected {
            try reconnectIfNeeded(now: true)
            return try first()
        }
    }

    // MARK: Running statements

    /// Runs `sql` (one statement or several, no parameters) with the simple protocol: for transaction control.
    /// Returns the last statement's command tag (`COMMIT`, or `ROLLBACK` for a commit the server refused).
    @discardableResult
    func simple(_ sql: String, what: String) throws -> String {
        try settle()
        let conn = try live()
        let result = try check(PQexec(conn, sql), what)
        defer { PQclear(result) }
        return String(cString: PQcmdStatus(result))
    }

    /// Runs a statement; returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [PostgresValue] = [], what: String) throws -> Int {
        let result = try run(sql, arguments, what: what)
        defer { PQclear(result) }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    /// Runs a query and decodes every row with `row`.
    func query<T>(
        _ sql: String,
        _ arguments: [PostgresValue] = [],
        what: String,
        row: (PostgresRow) throws -> T
    ) throws -> [T] {
        let result = try run(sql, arguments, what: what)
        defer { PQclear(result) }
        let count = PQntuples(result)
        var rows: [T] = []
        rows.reserveCapacity(Int(count))
        for index in 0..<count { rows.append(try row(PostgresRow(result: result, row: index))) }
        return rows
    }

    /// The first row's decoding, or nil for no row.
    func queryOne<T>(
        _ sql: String,
        _ arguments: [PostgresValue] = [],
        what: String,
        row: (PostgresRow) throws -> T
    ) throws -> T? {
        let result = try run(sql, arguments, what: what)
        defer { PQclear(result) }
        guard PQntuples(result) > 0 else { return nil }
        return try row(PostgresRow(result: result, row: 0))
    }

    /// The prepared statement for `sql` (prepared on first use with the parameter types of `arguments`), run
    /// with the arguments in binary and asking for a binary result. All parameter bytes live in one buffer for
    /// the call; libpq copies them out before it returns.
    private func run(_ sql: String, _ arguments: [PostgresValue], what: String) throws -> OpaquePointer {
        try settle()
        let conn = try live()
        if guardsTransaction && !inTransaction { throw transactionLost }
        let name = try statementName(sql, arguments, on: conn, what: what)
        let result = try withParameters(arguments) { count, values, lengths, formats in
            PQexecPrepared(conn, name, count, values, lengths, formats, 1)
        }
        return try check(result, what)
    }

    /// Calls `body` with `arguments` as libpq takes them (count, values, lengths, formats: all binary). All
    /// parameter bytes live in one buffer for the call; libpq copies them out before it returns.
    private func withParameters<R>(
        _ arguments: [PostgresValue],
        _ body: (Int32, [UnsafePointer<CChar>?], [Int32], [Int32]) -> R
    ) throws -> R {
        var buffer: [UInt8] = [0]  // never empty, so it always has an address
        var offsets: [Int?] = []
        var lengths: [Int32] = []
        for argument in arguments {
            let start = buffer.count
            let length = argument.encode(into: &buffer)
            guard let bound = Int32(exactly: length ?? 0) else {
                throw VaultError(.tooLarge, "a value for the database is larger than PostgreSQL takes")
            }
            offsets.append(length == nil ? nil : start)
            lengths.append(bound)
        }
        let formats = [Int32](repeating: 1, count: arguments.count)
        return buffer.withUnsafeBytes { bytes in
            let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
            let values: [UnsafePointer<CChar>?] = offsets.map { offset in
                guard let offset, let base else { return nil }
                return UnsafePointer(base + offset)
            }
            return body(Int32(arguments.count), values, lengths, formats)
        }
    }

    private func statementName(
        _ sql: String,
        _ arguments: [PostgresValue],
        on conn: OpaquePointer,
        what: String
    ) throws -> String {
        if let name = prepared[sql] { return name }
        let name = "cvault\(prepared.count)"
        let types = arguments.map(\.typeOID)
        let result = try check(PQprepare(conn, name, sql, Int32(types.count), types), what)
        PQclear(result)
        prepared[sql] = name
        return name
    }

    private func live() throws -> OpaquePointer {
        guard let handle else { throw VaultError.storeClosed }
        return handle
    }

    // MARK: Statements answered later

    /// The most statements sent before their answers are read: bounds what waits in the socket's buffers
    /// (each answer is a few dozen bytes, so the server never blocks writing them while libpq blocks sending).
    static let maxUnread = 512

    /// Sends a statement whose only answer is how many rows it changed, without waiting for that answer
    /// (libpq's pipeline mode): the writer's inserts then cost no round trip each. `settle()` reads the
    /// answers, as every other statement does first, so a failure is thrown in the same write job, at its end
    /// at the latest; `rows` (if given) is how many rows it must change, else it throws `mismatch`.
    ///
    /// Only statements whose effect nothing later in the job reads back before the next settle may be sent
    /// so; a statement that fails makes PostgreSQL skip every one after it up to the settle, and the job fails.
    func executeLater(
        _ sql: String,
        _ arguments: [PostgresValue],
        what: String,
        rows: Int? = nil,
        otherwise mismatch: VaultError? = nil
    ) throws {
        if unread.count >= Self.maxUnread { try settle() }
        let conn = try live()
        if guardsTransaction && !inTransaction { throw transactionLost }
        if prepared[sql] == nil { try settle() }  // a synchronous prepare needs the pipeline closed
        let name = try statementName(sql, arguments, on: conn, what: what)
        // Pipeline mode is entered only once the parameters were accepted (`withParameters` throws before it
        // calls its body), so a refused value leaves the session as it was.
        let sent = try withParameters(arguments) { count, values, lengths, formats -> Int32 in
            if PQpipelineStatus(conn) == PQ_PIPELINE_OFF, PQenterPipelineMode(conn) != 1 { return 0 }
            return PQsendQueryPrepared(conn, name, count, values, lengths, formats, 1)
        }
        guard sent == 1 else { throw lost(what) }
        unread.append(Unread(what: what, rows: rows, mismatch: mismatch))
    }

    /// Reads the answers of every statement `executeLater` sent (one round trip for all of them) and leaves
    /// pipeline mode; throws the first failure among them. Answers that do not come as the protocol says mean
    /// the session cannot be trusted: it is reset before its next use.
    ///
    /// `tail` (statements without parameters, such as a savepoint's release) is sent last in the same round
    /// trip, and only if none of the statements before it may fail by changing the wrong number of rows: a
    /// failing statement makes PostgreSQL skip the tail, a count checked here could not. True if the tail ran.
    @discardableResult
    func settle(closingWith tail: [String] = []) throws -> Bool {
        guard !unread.isEmpty else { return false }
        var sent = unread
        unread = []
        let conn = try live()
        let closing = !tail.isEmpty && sent.allSatisfy { $0.rows == nil }
        if closing {
            for sql in tail {
                guard PQsendQueryParams(conn, sql, 0, nil, nil, nil, nil, 1) == 1 else { throw lost(sql) }
                sent.append(Unread(what: sql, rows: nil, mismatch: nil))
            }
        }
        try finishPipeline(sent.map(\.what)) { index, done in
            let statement = sent[index]
            let changed = Int(String(cString: PQcmdTuples(done))) ?? 0
            if let rows = statement.rows, changed != rows {
                throw statement.mismatch ?? Self.wrongRowCount(statement.what, changed: changed, expected: rows)
            }
        }
        return closing
    }

    /// A statement that changed another number of rows than it must, when the caller named no error of its own.
    static func wrongRowCount(_ what: String, changed: Int, expected: Int) -> VaultError {
        VaultError(.internal, "\(what) changed \(changed) rows, not \(expected)")
    }

    /// The most queries `queryEach` sends before it reads their answers: rows come back while it is still
    /// sending, and a bound keeps them within the sockets' buffers, so neither side blocks on the other.
    static let maxQueriesInFlight = 128

    /// Runs `sql` once for each list of arguments, sending them all before reading any answer (pipeline
    /// mode): one round trip per `maxQueriesInFlight` instead of one each. Returns each run's rows, in order;
    /// throws the first failure, once every answer was read.
    func queryEach<T>(
        _ sql: String,
        _ argumentLists: [[PostgresValue]],
        what: String,
        row: (PostgresRow) throws -> T
    ) throws -> [[T]] {
        guard argumentLists.count > 1 else {
            return try argumentLists.map { try query(sql, $0, what: what, row: row) }
        }
        try settle()
        let conn = try live()
        if guardsTransaction && !inTransaction { throw transactionLost }
        let name = try statementName(sql, argumentLists[0], on: conn, what: what)
        var answers: [[T]] = []
        answers.reserveCapacity(argumentLists.count)
        var start = 0
        while start < argumentLists.count {
            let chunk = argumentLists[start..<min(start + Self.maxQueriesInFlight, argumentLists.count)]
            guard PQenterPipelineMode(conn) == 1 else { throw lost(what) }
            do {
                for arguments in chunk {
                    let sent = try withParameters(arguments) { count, values, lengths, formats in
                        PQsendQueryPrepared(conn, name, count, values, lengths, formats, 1)
                    }
                    guard sent == 1 else { throw lost(what) }
                }
            } catch {
                untrusted = true  // queries already sent go unread: the session is reset before its next use
                throw error
            }
            try finishPipeline(Array(repeating: what, count: chunk.count)) { _, done in
                var rows: [T] = []
                for index in 0..<PQntuples(done) { rows.append(try row(PostgresRow(result: done, row: index))) }
                answers.append(rows)
            }
            start += chunk.count
        }
        return answers
    }

    /// Ends a pipeline whose statements `whats` names, in order: sends the sync, reads each statement's
    /// answer and hands each successful one to `each` (which must not free it), then leaves pipeline mode.
    /// The first failure (a statement's, or `each`'s) is thrown once every answer was read, so the session is
    /// left in step; answers that do not come as the protocol says leave it untrusted, reset before its next
    /// use.
    private func finishPipeline(_ whats: [String], _ each: (Int, OpaquePointer) throws -> Void) throws {
        let conn = try live()
        guard PQpipelineSync(conn) == 1 else { throw lost(whats.first ?? "ending a pipeline") }
        var failure: (any Error)?
        for (index, what) in whats.enumerated() {
            // Each statement's answer is one result, then a null.
            guard let result = PQgetResult(conn) else { throw lost(what) }
            if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)  // skipped because an earlier one failed
            } else {
                do {
                    let done = try check(result, what)
                    defer { PQclear(done) }
                    if failure == nil { try each(index, done) }
                } catch {
                    if !isConnected { throw error }
                    failure = failure ?? error
                }
            }
            if let extra = PQgetResult(conn) {
                PQclear(extra)
                throw lost(what)
            }
        }
        guard let sync = PQgetResult(conn) else { throw lost("ending a pipeline") }
        let synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC
        PQclear(sync)
        guard synced, PQexitPipelineMode(conn) == 1 else { throw lost("ending a pipeline") }
        if let failure { throw failure }
    }

    // MARK: Errors

    /// A session whose protocol state is no longer known: reset before its next use, and the request answered
    /// as for a lost connection.
    private func lost(_ what: String) -> VaultError {
        untrusted = true
        return unavailable(what)
    }

    /// The result if it succeeded; else it is freed and its failure thrown.
    private func check(_ result: OpaquePointer?, _ what: String) throws -> OpaquePointer {
        guard let result else {
            // No result at all: libpq could not send the statement or read its reply (its own message says
            // which). As below, the session is reset before its next use.
            untrusted = true
            throw unavailable(what)
        }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK { return result }
        let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
        // The primary message only: the DETAIL of, say, a unique violation quotes the row's key.
        let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
        if sqlState.isEmpty {
            // Every error the server sends carries a SQLSTATE; one without it was made by libpq (a socket that
            // failed on this side, a reply it could not parse), whose own text is the result's message. The
            // session is then in an unknown state even if `PQstatus` still says it is up: it is reset before
            // its next use, and the request is answered as for a lost connection.
            let detail = String(cString: PQresultErrorMessage(result))
            let state = String(cString: PQresStatus(status))
            PQclear(result)
            untrusted = true
            throw unavailable(what, detail: detail.isEmpty ? state : detail)
        }
        PQclear(result)
        if !isConnected || Self.meansUnavailable(sqlState) { throw unavailable(what) }
        throw VaultError(
            .storage,
            "\(what) failed: \(url.scrub(message ?? "no message")) (SQLSTATE \(sqlState))",
            hint: Self.hint(for: sqlState)
        )
    }

    /// Connection exceptions (class 08), and the server shutting down or starting up (57P01–57P03).
    private static func meansUnavailable(_ sqlState: String) -> Bool {
        sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03", "57P05"].contains(sqlState)
    }

    /// Why a transaction ended by itself: the connection went (the database stopped or failed over), or the
    /// database rolled it back.
    var transactionLost: VaultError { isConnected ? VaultError.groupLost : unavailable("writing") }

    /// `storeUnavailable` for a lost or refused connection, with libpq's own message (scrubbed of any
    /// password; it names the host and user at most) but never the connection string.
    private func unavailable(_ what: String, detail libpqDetail: String? = nil) -> VaultError {
        let detail = (libpqDetail ?? handle.map { String(cString: PQerrorMessage($0)) } ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return VaultError(
            .storeUnavailable,
            "\(what) failed: the database cannot be reached" + (detail.isEmpty ? "" : " (\(url.scrub(detail)))"),
            hint: "check that PostgreSQL is up and reachable; cvault reconnects by itself, so retry the request"
        )
    }

    private static func hint(for sqlState: String) -> String {
        switch sqlState.prefix(2) {
        case "23":
            return "the row already exists or refers to a missing row; this is a bug in the caller"
        case "42" where sqlState == "42501":
            return "the database role lacks a privilege cvault needs; see `PostgresStore.leastPrivilegeSQL`"
        case "42":
            return "the schema is not what this cvault expects; run `cvault verify`"
        case "53":
            return "the database server is out of a resource (disk, memory, connections); free it, then retry"
        case "40":
            return "the database aborted the transaction (serialization or deadlock); retry the request"
        case "57":
            return "the statement was cancelled or timed out; retry the request"
        default:
            return "unexpected database failure; report it with this message"
        }
    }
}
