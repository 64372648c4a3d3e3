import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `cvault serve` as a process: socket file, policy reload on SIGHUP, refusing a live socket, replacing a
/// stale one, and SIGTERM. Each test has a server (and vault) of its own, since it stops or kills it.
@Suite(.timeLimit(.minutes(10)))
struct ServerLifecycleTests {
    /// The standard policy with the root identity renamed and given a second role, and uid 1002 added.
    static let changedPolicy = """
        identities:
          - name: operator-two
            uid: 0
            roles: [admin, auditor]
          - name: newcomer
            uid: 1002
            roles: []
        roles:
          admin:
            tokenize: [text]
            detokenize:
              - kinds: [text]
                purposes: [ops]
                reveal: plain
            erase: true
            limits: { max_batch: 50, reveals_per_minute: 10 }
          auditor:
            limits: { max_batch: 50, reveals_per_minute: 10 }

        """

    /// `identity:role,role` from whoami as root.
    func whoami(_ server: ServerHarness) throws -> String {
        let result = try server.call("whoami").resultObject
        return
            "\(result?["identity"] as? String ?? "?"):\((result?["roles"] as? [String])?.joined(separator: ",") ?? "?")"
    }

    @Test func sighupReloadsAValidPolicyAndKeepsTheOldOneWhenBroken() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        let tokens = try server.tokenize(kind: "text", subject: "reload", values: ["before reload"])
        #expect(try whoami(server) == "operator:admin")
        #expect(try server.python(["whoami"], uid: 1002).status == 2, "uid 1002 is unknown at first")

        try server.writePolicy(Self.changedPolicy)
        server.signal(SIGHUP)
        #expect(server.eventually { try whoami(server) == "operator-two:admin,auditor" }, "the new policy is in force")
        let newcomer = try server.python(["whoami"], uid: 1002)
        #expect(newcomer.status == 0)
        #expect((try parseJSON(Array(newcomer.stdout.utf8)) as? [String: Any])?["identity"] as? String == "newcomer")
        // Still the same process: nothing was restarted.
        #expect(server.process?.isRunning == true)
        // The new limits apply: max_batch for tokenize, and the reveal rate for detokenize (eleven reveals
        // never fit a bucket of ten, so the call is refused whole).
        let many = try server.call(
            "tokenize",
            ["kind": "text", "subject": "reload", "values": (0..<51).map { "v\($0)" }]
        )
        #expect(many.errorCode == -32004)
        #expect(many.errorData?["limit"] as? Int == 50 && many.errorData?["field"] as? String == "values")
        let reveal = try server.call(
            "detokenize",
            ["tokens": Array(repeating: tokens[0], count: 11), "purpose": "ops"]
        )
        #expect(reveal.errorCode == -32003)
        #expect(reveal.errorData?["limit"] as? Int == 10 && (reveal.errorData?["retry_after_ms"] as? Int ?? 0) > 0)

        try server.writePolicy(Self.changedPolicy + "  extra: { erase: yes }\nbogus: 1\n")
        server.signal(SIGHUP)
        #expect(
            server.eventually { server.serverLog().contains("policy refused") },
            "the broken policy was read and refused"
        )
        #expect(try whoami(server) == "operator-two:admin,auditor", "the previous policy stays in force")
        #expect(try server.allRevealPlain(tokens, as: ["before reload"]))
        #expect(try server.tokenize(kind: "text", subject: "reload", values: ["after"]).count == 1)
        #expect(try server.python(["whoami"], uid: 1002).status == 0)

        // The unknown uid's first attempt is in the audit log (in the aggregated record written once its
        // window is over), and the log is intact.
        #expect(
            server.eventually {
                let connects = try server.cvault(["audit", "export", "--event", "connect"])
                let records = try connects.stdout.split(separator: "\n").map {
                    try parseJSON(Array($0.utf8)) as? [String: Any]
                }
                return connects.status == 0
                    && records.contains { $0?["uid"] as? Int == 1002 && $0?["outcome"] as? String == "denied" }
            }
        )
        #expect(try server.cvault(["audit", "verify"]).status == 0)
    }

    @Test func secondServerOnALiveSocketRefusesToStart() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        let tokens = try server.tokenize(kind: "text", subject: "second", values: ["kept"])

        let (second, stderrPath) = try server.launch()
        try waitForProcessExit(second, timeout: 60)
        #expect(second.terminationReason == .exit && second.terminationStatus != 0)
        let message = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        #expect(message.contains("another cvault server is running"))

        #expect(server.process?.isRunning == true)
        #expect(try server.allRevealPlain(tokens, as: ["kept"]), "the first server still serves on its socket")
    }

    @Test func staleSocketFromAKilledServerIsReplaced() throws {
        let server = try ServerHarness(socketMode: "0640")
        defer { server.destroy() }
        try server.start()
        var info = stat()
        #expect(
            lstat(server.socketPath, &info) == 0 && info.st_mode & 0o7777 == 0o640,
            "the socket has the requested mode"
        )
        let tokens = try server.tokenize(kind: "email", subject: "stale", values: ["stale@example.com"])

        try server.killHard()
        #expect(
            lstat(server.socketPath, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK,
            "kill -9 leaves the socket file"
        )
        #expect((try? RawConnection(server.socketPath, timeout: 2)) == nil, "nobody answers on it")

        try server.start()
        #expect(lstat(server.socketPath, &info) == 0 && info.st_mode & 0o7777 == 0o640)
        #expect(try server.allRevealPlain(tokens, as: ["stale@example.com"]))
    }

    @Test func socketPathHeldByAnotherFileIsRefused() throws {
        var template = Array("/tmp/cvs.XXXXXX".utf8CString)
        let dir = String(cString: try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/not-a-socket"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path))
        let result = try runProcess(
            ServerBinaries.cvault,
            ["serve", "--socket", path, "--policy", dir + "/absent.yaml"],
            environment: ["PATH": "/usr/bin:/bin", "CVAULT_KEYS": dir + "/k", "CVAULT_DATA": dir + "/d"],
            directory: dir,
            timeout: 60
        )
        #expect(result.status != 0)
        #expect(result.stderr.contains("is not a socket"))
        #expect((try? String(contentsOfFile: path, encoding: .utf8)) == "keep me", "the file is left alone")
    }

    @Test func sigtermExitsZeroRemovesTheSocketAndKeepsAcknowledgedTokens() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        let values = (0..<50).map { "acked-\($0)" }
        var tokens: [String] = []
        let connection = try RawConnection(server.socketPath)
        for (i, value) in values.enumerated() {
            let response = try connection.call(
                requestLine(
                    id: i,
                    method: "tokenize",
                    params: ["kind": "text", "subject": "term-\(i % 5)", "values": [value]]
                )
            )
            tokens.append((response.resultObject?["tokens"] as? [String])?.first ?? "missing")
        }
        let idle = try RawConnection(server.socketPath)
        // A client that never reads its answers can delay the exit (by the shutdown grace), not prevent it.
        let greedy = try RawConnection(server.socketPath)
        #expect(try greedy.call(requestLine(id: 0, method: "health"))["id"] as? Int == 0)
        let whoamis = Array(String(repeating: requestLine(id: 1, method: "whoami") + "\n", count: 1000).utf8)
        var stalls = 0
        var total = 0
        while stalls < 50, total < 256 << 20 {
            guard let n = greedy.sendNonBlocking(whoamis) else { break }
            if n == 0 {
                stalls += 1
                usleep(10_000)
            } else {
                stalls = 0
                total += n
            }
        }
        // A client pipelining when the signal comes: it gets answers, in order, for a prefix of what it
        // sent (what the server had read), then the connection closes.
        let pipelined = try RawConnection(server.socketPath)
        let more = (0..<300).map { "pipelined-\($0)" }
        try pipelined.send(
            more.enumerated().map { i, value in
                requestLine(
                    id: i,
                    method: "tokenize",
                    params: ["kind": "text", "subject": "term-p", "values": [value]]
                ) + "\n"
            }.joined()
        )
        let first = try pipelined.readObject()
        #expect(first["id"] as? Int == 0)

        server.signal(SIGTERM)
        var answered = [(first.resultObject?["tokens"] as? [String])?.first ?? "missing"]
        for line in try pipelined.readUntilClosed() {
            let response = try #require(try parseJSON(line) as? [String: Any])
            #expect(response["id"] as? Int == answered.count, "answers come in order")
            answered.append((response.resultObject?["tokens"] as? [String])?.first ?? "missing")
        }
        let (status, signaled) = try server.waitForExit(timeout: 60)
        #expect(!signaled && status == 0, "SIGTERM is a clean exit")
        #expect(access(server.socketPath, F_OK) != 0, "the socket file is removed")
        #expect(access(server.dataDir + "/cvault.pid", F_OK) != 0, "the pid file is removed")
        #expect(try connection.readLine() == nil && (try idle.readLine()) == nil, "open connections were closed")
        greedy.close()
        tokens += answered
        let expected = values + more.prefix(answered.count)

        #expect(try server.cvault(["audit", "verify"]).status == 0, "the audit log is intact after a clean stop")
        try server.start()
        #expect(try server.allRevealPlain(tokens, as: expected), "every token answered before the exit is there")
    }
}
