import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Attacks on the server's front door (docs/PROTOCOL.md §1, §2, §4.2, §5): inputs that used to trap, unknown
/// uids, idle and surplus connections, answers far larger than their requests, and log injection. Each test
/// runs its own server with the options it needs.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ServerHardeningTests {
    /// Connects `count` times to the socket as `uid` (a Python process under setpriv), sends `line` on each
    /// unless it is empty, and reads until the server closes (at most 10 s). One output line per connection:
    /// what the server sent (newlines as spaces), or `TIMEOUT` if it sent nothing and kept the connection.
    static let connectScript = #"""
        import socket, sys
        path, count, line = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        for _ in range(count):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(path)
            if line:
                try:
                    s.sendall(line.encode() + b"\n")
                except OSError:
                    pass
            data = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except socket.timeout:
                data += b"TIMEOUT"
            except ConnectionResetError:
                pass
            s.close()
            sys.stdout.write(data.decode("utf-8", "replace").replace("\n", " ").strip() + "\n")
        """#

    func connect(_ server: ServerHarness, as uid: UInt32, count: Int = 1, sending line: String = "") throws -> [String]
    {
        let command = [
            "/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups",
            "/usr/bin/python3", "-c", Self.connectScript, server.socketPath, String(count), line,
        ]
        let result = try runProcess(
            command[0],
            Array(command.dropFirst()),
            environment: ["PATH": "/usr/bin:/bin"],
            directory: server.dir,
            timeout: 120
        )
        #expect(result.status == 0, "the connect script failed: \(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    /// A connection the server admitted: retried while an earlier connection's close is still being counted.
    func admitted(_ server: ServerHarness) throws -> RawConnection {
        var admitted: RawConnection?
        _ = server.eventually {
            let connection = try RawConnection(server.socketPath)
            guard try connection.call(requestLine(method: "health")).resultObject?["status"] as? String == "ok" else {
                return false
            }
            admitted = connection
            return true
        }
        return try #require(admitted, "the server admits a connection")
    }

    // MARK: Finding: an id of Int64.min trapped in the id range check

    @Test func int64MinIDIsAnInvalidRequestAndTheServerLives() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        let line = #"{"jsonrpc":"2.0","id":-9223372036854775808,"method":"whoami"}"#
        let connection = try RawConnection(server.socketPath)
        let single = try connection.call(line)
        #expect(single.idIsNull && single.errorCode == -32600)
        // In a batch (each element's id is checked) and at the other ends of the range.
        try connection.sendLine("[\(line),\(requestLine(id: 2, method: "health"))]")
        let batch = try #require(try connection.readJSON() as? [[String: Any]])
        #expect(batch.count == 2 && batch[0].idIsNull && batch[0].errorCode == -32600 && batch[1]["id"] as? Int == 2)
        for id in ["9223372036854775807", "-9007199254740992", "9007199254740992"] {
            let response = try connection.call(#"{"jsonrpc":"2.0","id":\#(id),"method":"health"}"#)
            #expect(response.idIsNull && response.errorCode == -32600)
        }
        let edge = try connection.call(#"{"jsonrpc":"2.0","id":-9007199254740991,"method":"health"}"#)
        #expect(edge["id"] as? Int == -9_007_199_254_740_991 && edge.resultObject != nil)
        // From a uid in no policy.
        let unknown = try connect(server, as: 1002, sending: line)
        #expect(unknown.count == 1 && unknown.first?.contains("-32001") == true)
        #expect(server.process?.isRunning == true)
        #expect(try server.call("health").resultObject?["status"] as? String == "ok")
    }

    // MARK: Finding: unknown uids, idle and surplus connections

    @Test func unknownUIDIsAnsweredAndClosedAtAcceptWithoutSendingAnything() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        let answers = try connect(server, as: 1002)
        #expect(answers.count == 1)
        let response = try #require(try parseJSON(Array((answers.first ?? "").utf8)) as? [String: Any])
        #expect(response.idIsNull && response.errorCode == -32001)
        #expect(response.errorData?["uid"] as? Int == 1002)
    }

    @Test func fiftyUnknownUIDConnectionsAreAuditedInAggregate() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        let answers = try connect(server, as: 1002, count: 50, sending: requestLine(id: 1, method: "whoami"))
        #expect(answers.count == 50 && answers.allSatisfy { $0.contains("-32001") })
        // Written by the housekeeping once the window is over, or at shutdown: stop the server to read them.
        server.stop()
        let export = try server.cvault(["audit", "export", "--event", "connect"])
        #expect(export.status == 0)
        let records = try export.stdout.split(separator: "\n").compactMap {
            try parseJSON(Array($0.utf8)) as? [String: Any]
        }
        .filter { $0["uid"] as? Int == 1002 }
        let attempts = records.compactMap { $0["count"] as? Int }.reduce(0, +)
        #expect(attempts == 50, "every attempt is counted")
        #expect(records.count < 50 && !records.isEmpty, "in aggregate records, one per window")
        #expect(
            records.allSatisfy { $0["outcome"] as? String == "denied" && $0["reason"] as? String == "unknown identity" }
        )
        #expect(try server.cvault(["audit", "verify"]).status == 0)
    }

    @Test func idleConnectionsAreClosedAfterTheIdleTimeout() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start(extra: ["--idle-timeout", "2"])
        // Connected, never sending: closed (the client's receive timeout, 20 s, would throw first otherwise).
        let silent = try RawConnection(server.socketPath)
        #expect(try silent.readLine() == nil, "the server closes a silent connection")
        // Answered, then idle: closed too, after its answer arrived.
        let used = try RawConnection(server.socketPath)
        #expect(try used.call(requestLine(id: 3, method: "health"))["id"] as? Int == 3)
        #expect(try used.readLine() == nil, "the server closes a connection idle after its answer")
        #expect(try server.call("health").resultObject?["status"] as? String == "ok")
    }

    @Test(.oneServerProcessOnly("the cap is each process's own; connections in turn reach three processes"))
    func perUIDCapRefusesTheNextConnectionUntilOneCloses() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start(extra: ["--max-connections-per-uid", "3"])
        var held = try (0..<3).map { _ in try admitted(server) }
        let refused = try RawConnection(server.socketPath)
        let answer = try refused.readObject()
        #expect(answer.idIsNull && answer.errorCode == -32004)
        #expect(
            answer.errorData?["field"] as? String == "connections_per_uid" && answer.errorData?["limit"] as? Int == 3
        )
        #expect(try refused.readLine() == nil, "closed after the error")
        held.removeFirst().close()
        let again = try admitted(server)
        #expect(try again.call(requestLine(id: 4, method: "whoami"))["id"] as? Int == 4)
        for connection in held { connection.close() }
    }

    @Test(.oneServerProcessOnly("the cap is each process's own; connections in turn reach three processes"))
    func totalCapRefusesTheNextConnectionUntilOneCloses() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start(extra: ["--max-connections", "2", "--log-level", "notice"])
        var held = try (0..<2).map { _ in try admitted(server) }
        let refused = try RawConnection(server.socketPath)
        let answer = try refused.readObject()
        #expect(answer.errorCode == -32004 && answer.errorData?["field"] as? String == "connections")
        #expect(answer.errorData?["limit"] as? Int == 2)
        held.removeFirst().close()
        _ = try admitted(server)
        #expect(server.serverLog().contains("max_connections=2"), "the limits in force are logged at start")
    }

    /// Holds every writer of `server`'s store off for 12 seconds, from another process, as a long
    /// transaction would; returns once the lock is held. SQLite: `BEGIN IMMEDIATE` on the file. PostgreSQL: the
    /// advisory lock every write group takes first (`PostgresWriteConnection.writersLock`, "cvltWRIT").
    static func holdWriters(of server: ServerHarness) throws -> Process {
        let script: [String]
        if let database = server.database {
            script = [
                "/usr/bin/psql", "--no-psqlrc", "-X", "-q", "-d", database.uri, "-c",
                "SELECT pg_advisory_lock(7167035103943739732); SELECT pg_sleep(12);",
            ]
        } else {
            script = [
                "/usr/bin/python3", "-c",
                #"""
                import sqlite3, sys, time
                db = sqlite3.connect(sys.argv[1], isolation_level=None)
                db.execute("BEGIN IMMEDIATE")
                print("locked", flush=True)
                time.sleep(12)
                db.execute("ROLLBACK")
                """#,
                server.dataDir + "/cvault.db",
            ]
        }
        let lockOut = server.dir + "/lock.out"
        let locker = try spawn(
            script[0],
            Array(script.dropFirst()),
            environment: ["PATH": "/usr/bin:/bin"],
            directory: server.dir,
            stdout: lockOut,
            stderr: server.dir + "/lock.err"
        )
        let held = server.eventually {
            if let database = server.database {
                let held =
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    + "AND classid = 1668705396 AND objid = 1465010516"  // the key's high and low 32 bits
                return try database.run(held) == "1"
            }
            return ((try? String(contentsOfFile: lockOut, encoding: .utf8)) ?? "").contains("locked")
        }
        guard held else {
            kill(locker.processIdentifier, SIGKILL)
            try? waitForProcessExit(locker, timeout: 30)
            throw HarnessError("the writers' lock was not taken in time")
        }
        return locker
    }

    /// A line held up in the vault does not let its connection queue unbounded bytes behind it: the server
    /// reads at most about 4 MiB ahead of the line it runs (it used to read 32 lines of up to 1 MiB, 32 MiB
    /// per connection). The first line is a tokenize stuck behind another process's hold on the store's
    /// writers; measured from the client: how much the server took before it stopped reading.
    @Test func aConnectionQueuesAFewMegabytesAtMost() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        let locker = try Self.holdWriters(of: server)
        defer { try? waitForProcessExit(locker, timeout: 30) }
        let connection = try RawConnection(server.socketPath)
        try connection.sendLine(
            requestLine(id: 0, method: "tokenize", params: ["kind": "text", "subject": "queue", "values": ["x"]])
        )
        let padded = Array(
            (requestLine(id: 1, method: "health", params: ["pad": String(repeating: "p", count: 1_000_000)]) + "\n")
                .utf8
        )
        var taken = 0
        var offset = 0
        var stalls = 0
        while taken < 40 << 20, stalls < 20 {
            guard let n = connection.sendNonBlocking(Array(padded[offset...])) else { break }
            if n == 0 {
                stalls += 1
                usleep(100_000)
                continue
            }
            stalls = 0
            taken += n
            offset = (offset + n) % padded.count
        }
        #expect(taken < 10 << 20, "the server stopped reading after about 4 MiB (took \(taken >> 20) MiB)")
        connection.close()
        #expect(try server.call("health").resultObject?["status"] as? String == "ok")
    }

    // MARK: Finding: a small request built a huge answer

    @Test func answerOverTheResponseCapIsTooLargeAndTheConnectionStaysUsable() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start(extra: ["--max-response-bytes", "8192"])
        // 2,000 control characters: 12,000 bytes once escaped, over the 8 KiB cap in a 60-byte request.
        let token = try server.tokenize(
            kind: "text",
            subject: "cap",
            values: [String(repeating: "\u{1}", count: 2000)]
        )[0]
        let connection = try RawConnection(server.socketPath)
        let big = try connection.call(
            requestLine(id: 9, method: "detokenize", params: ["tokens": [token], "purpose": "ops"])
        )
        #expect(big["id"] as? Int == 9 && big.errorCode == -32004)
        #expect(big.errorData?["field"] as? String == "response" && big.errorData?["limit"] as? Int == 8192)
        // In a batch, only the element over the cap is replaced.
        try connection.sendLine(
            "[" + requestLine(id: 10, method: "detokenize", params: ["tokens": [token], "purpose": "ops"]) + ","
                + requestLine(id: 11, method: "health") + "]"
        )
        let batch = try #require(try connection.readJSON() as? [[String: Any]])
        #expect(batch.count == 2 && batch[0]["id"] as? Int == 10 && batch[0].errorCode == -32004)
        #expect(batch[1]["id"] as? Int == 11 && batch[1].resultObject?["status"] as? String == "ok")
        #expect(
            try connection.call(requestLine(id: 12, method: "health"))["id"] as? Int == 12,
            "the connection stays usable"
        )
        // A value that fits still comes back, every character that needs escaping intact (answers are now
        // escaped straight into the socket buffer).
        let tricky = "fits \u{1}\u{1f}\n\r\t\"\\ \u{7f} \u{2028}\u{2029} € ✓ 😀 /"
        let small = try server.tokenize(kind: "text", subject: "cap", values: [tricky])[0]
        #expect(try server.detokenize([small]).first?["value"] == tricky)
    }

    @Test func theReviewersAmplificationLineIsRefused() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        // A 60 KB value of control characters (escaped six-fold), asked for 1,000 times in each of three batch
        // elements: a line of about 90 KB that used to build a 1 GB answer.
        let token = try server.tokenize(
            kind: "text",
            subject: "amp",
            values: [String(repeating: "\u{1}", count: 60_000)]
        )[0]
        let element = { (id: Int) in
            requestLine(
                id: id,
                method: "detokenize",
                params: ["tokens": Array(repeating: token, count: 1000), "purpose": "ops"]
            )
        }
        let connection = try RawConnection(server.socketPath)
        let batch = try connection.call("[" + (1...3).map(element).joined(separator: ",") + "]")
        #expect(batch.idIsNull && batch.errorCode == -32004, "3,000 items in one batch is over max_batch 1000")
        #expect(batch.errorData?["field"] as? String == "batch" && batch.errorData?["limit"] as? Int == 1000)
        // One element alone is within max_batch, and its 360 MB answer is over the 32 MiB cap.
        let single = try connection.call(element(4))
        #expect(
            single["id"] as? Int == 4 && single.errorCode == -32004
                && single.errorData?["field"] as? String == "response"
        )
        #expect(try connection.call(requestLine(id: 5, method: "health"))["id"] as? Int == 5)
    }

    @Test func batchesCountAgainstMaxBatchAndARefusedBatchRunsNothing() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        let connection = try RawConnection(server.socketPath)
        let elements = try connection.call(
            "[" + (0...1000).map { requestLine(id: $0, method: "health") }.joined(separator: ",") + "]"
        )
        #expect(elements.idIsNull && elements.errorCode == -32004 && elements.errorData?["limit"] as? Int == 1000)
        // Two tokenize calls of 600 values: each under max_batch, 1,200 together.
        let tokenize = { (id: Int) in
            requestLine(
                id: id,
                method: "tokenize",
                params: [
                    "kind": "text", "subject": "batch-refused",
                    "values": (0..<600).map { "v\(id)-\($0)" },
                ]
            )
        }
        let items = try connection.call("[" + tokenize(1) + "," + tokenize(2) + "]")
        #expect(items.idIsNull && items.errorCode == -32004 && items.errorData?["field"] as? String == "batch")
        #expect(
            try server.call("erase", ["subject": "batch-refused"]).resultObject?["erased"] as? Int == 0,
            "nothing of the refused batch ran"
        )
        // At the limit it runs.
        try connection.sendLine(
            "[" + (0..<1000).map { requestLine(id: $0, method: "health") }.joined(separator: ",") + "]"
        )
        let fine = try connection.readJSON() as? [[String: Any]]
        #expect(fine?.count == 1000 && fine?.allSatisfy { $0.resultObject != nil } == true)
    }

    // MARK: Finding: request text in the log

    @Test func aMethodNameWithANewlineIsLoggedEscaped() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start(extra: ["--log-level", "info"])
        let method = "who\u{1b}[2J\nami forged"
        let response = try server.call(method)
        #expect(response.errorCode == -32601)
        #expect(server.eventually { server.serverLog().contains("outcome=error -32601") })
        let log = server.serverLog()
        #expect(log.contains(#"method=who\u{1b}[2J\nami forged"#), "the newline and the escape are written escaped")
        #expect(!log.split(separator: "\n").contains { $0.hasPrefix("ami forged") }, "no forged line")
        #expect(!log.contains("\u{1b}"), "no terminal escape reaches the log")
    }
}
