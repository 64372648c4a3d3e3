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
          auditor: {}

        """

    /// `identity:role,role` from whoami as root.
    func whoami(_ server: ServerHarness) throws -> String {
        let result = try server.call("whoami").resultObject
        return "\(result?["identity"] as? String ?? "?"):\((result?["roles"] as? [String])?.joined(separator: ",") ?? "?")"
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

        try server.writePolicy(Self.changedPolicy + "  auditor: { erase: yes }\nbogus: 1\n")
        server.signal(SIGHUP)
        #expect(server.eventually { server.serverLog().contains("policy refused") }, "the broken policy was read and refused")
        #expect(try whoami(server) == "operator-two:admin,auditor", "the previous policy stays in force")
        #expect(try server.allRevealPlain(tokens, as: ["before reload"]))
        #expect(try server.tokenize(kind: "text", subject: "reload", values: ["after"]).count == 1)
        #expect(try server.python(["whoami"], uid: 1002).status == 0)
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
        #expect(lstat(server.socketPath, &info) == 0 && info.st_mode & 0o7777 == 0o640, "the socket has the requested mode")
        let tokens = try server.tokenize(kind: "email", subject: "stale", values: ["stale@example.com"])

        try server.killHard()
        #expect(lstat(server.socketPath, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK, "kill -9 leaves the socket file")
        #expect((try? RawConnection(server.socketPath, timeout: 2)) == nil, "nobody answers on it")

        try server.start()
        #expect(lstat(server.socketPath, &info) == 0 && info.st_mode & 0o7777 == 0o640)
        #expect(try server.allRevealPlain(tokens, as: ["stale@example.com"]))
    }

    @Test func sigtermExitsZeroRemovesTheSocketAndKeepsAcknowledgedTokens() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        let values = (0..<50).map { "acked-\($0)" }
        var tokens: [String] = []
        let connection = try RawConnection(server.socketPath)
        for (i, value) in values.enumerated() {
            let response = try connection.call(requestLine(id: i, method: "tokenize", params: ["kind": "text", "subject": "term-\(i % 5)", "values": [value]]))
            tokens.append((response.resultObject?["tokens"] as? [String])?.first ?? "missing")
        }
        let idle = try RawConnection(server.socketPath)

        server.signal(SIGTERM)
        let (status, signaled) = try server.waitForExit(timeout: 60)
        #expect(!signaled && status == 0, "SIGTERM is a clean exit")
        #expect(access(server.socketPath, F_OK) != 0, "the socket file is removed")
        #expect(access(server.dataDir + "/cvault.pid", F_OK) != 0, "the pid file is removed")
        #expect(try connection.readLine() == nil && (try idle.readLine()) == nil, "open connections were closed")

        try server.start()
        #expect(try server.allRevealPlain(tokens, as: values))
    }
}
