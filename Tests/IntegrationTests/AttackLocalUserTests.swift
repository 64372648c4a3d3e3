import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Attacker: another local user (docs/THREAT_MODEL.md), here uid 1002, which is in no policy and no group of
/// the vault. Clients run as that uid through /usr/bin/setpriv. Claim: it reaches neither the socket (file
/// mode, then SO_PEERCRED) nor the vault's files (modes 0700 and 0600).
@Suite(.serialized, .timeLimit(.minutes(10)))
struct AttackLocalUserTests {
    static let stranger: UInt32 = 1002

    /// Runs `command` as uid 1002 with no supplementary groups.
    static func asStranger(_ command: [String], in directory: String) throws -> ProcessResult {
        try runProcess(
            "/usr/bin/setpriv",
            ["--reuid=\(stranger)", "--regid=\(stranger)", "--clear-groups"] + command,
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"],
            directory: directory,
            timeout: 60
        )
    }

    /// Claim: with the default socket mode (0660, owner root), another uid cannot even connect.
    @Test func theDefaultSocketModeKeepsAnotherUidOut() throws {
        let server = try ServerHarness(socketMode: "0660")
        defer { server.destroy() }
        try server.start()
        #expect(permissions(server.socketPath) == 0o660)
        let result = try server.python(["whoami"], uid: Self.stranger)
        #expect(result.status != 0, "uid 1002 could not connect")
        let printed = !result.stdout.isEmpty  // out of sight of #expect's expansion, as below
        #expect(!printed)
        #expect(result.stderr.contains("Permission denied"), "refused by the socket file's mode")
        // The socket's owner still gets in.
        #expect(try server.call("whoami").resultObject?["identity"] as? String == "operator")
    }

    /// Claim: a socket opened to everyone (0666) still serves only uids in the policy: SO_PEERCRED names the
    /// caller, and an unknown uid gets `-32001` and nothing else, whatever it sends.
    @Test func aWorldOpenSocketStillRefusesAnUnknownUid() throws {
        let server = try ServerHarness(socketMode: "0666")
        defer { server.destroy() }
        try server.start()
        let token = try server.tokenize(kind: "text", subject: "local-user", values: ["a value uid 1002 must not see"])[
            0
        ]
        let lines = [
            requestLine(id: 1, method: "detokenize", params: ["tokens": [token], "purpose": "ops"]),
            requestLine(id: 2, method: "erase", params: ["subject": "local-user"]),
        ]
        let result = try server.python(
            ["raw"],
            uid: Self.stranger,
            stdin: Array((lines.joined(separator: "\n") + "\n").utf8)
        )
        let responses = result.stdout.split(separator: "\n").compactMap {
            try? parseJSON(Array($0.utf8)) as? [String: Any]
        }
        #expect(responses.count == 1, "one answer, then the connection is closed")
        #expect(responses.first?.errorCode == -32001)
        let leaked = result.stdout.contains("must not see")
        #expect(!leaked)
        #expect(try server.allRevealPlain([token], as: ["a value uid 1002 must not see"]), "nothing was erased")
    }

    /// Claim: the keys and data folders are 0700 and every file the vault writes is 0600, so uid 1002 can
    /// neither list nor read the keyring, the database, its WAL or shared-memory file, while the server runs.
    @Test func anotherUidReadsNoneOfTheVaultsFiles() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        _ = try server.tokenize(kind: "text", subject: "local-files", values: ["written so the WAL exists"])
        #expect(permissions(server.keysDir) == 0o700)
        #expect(permissions(server.dataDir) == 0o700)
        let files =
            [server.keysDir + "/cvault.keyring"]
            + ["cvault.db", "cvault.db-wal", "cvault.db-shm"].map { server.dataDir + "/" + $0 }
        for file in files {
            #expect(permissions(file) == 0o600, "\(file) is 0600")
            let read = try Self.asStranger(["/bin/cat", file], in: server.dir)
            let readSomething = !read.stdout.isEmpty
            #expect(read.status != 0 && !readSomething, "uid 1002 cannot read \(file)")
        }
        for folder in [server.keysDir, server.dataDir] {
            let list = try Self.asStranger(["/bin/ls", folder], in: server.dir)
            let listedSomething = !list.stdout.isEmpty
            #expect(list.status != 0 && !listedSomething, "uid 1002 cannot list \(folder)")
        }
        // The control: the same command reads a file uid 1002 is allowed to read.
        let control = try Self.asStranger(["/bin/cat", server.clientScript], in: server.dir)
        #expect(control.status == 0 && !control.stdout.isEmpty)
    }
}
