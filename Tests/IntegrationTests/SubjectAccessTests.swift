import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `subject.report` and `subject.export` through a real `cvault serve` on a real socket, and `cvault subject
/// report|export` online and offline: the statement a customer receives verifies with `cvault statement
/// verify` (exit 0) and a copy with one byte changed does not (exit 3); the export holds the values the
/// gate lets out in plain, and the report none of them.
@Suite struct SubjectAccessTests {
    /// uid 0 may do everything (`admin`), issue reports, and reveal emails plain and names masked for
    /// `subject-access`.
    static let policy = """
        kinds: {}
        identities:
          - name: operator
            uid: 0
            roles: [admin, dpo]
        roles:
        \(ServerPolicies.adminRole)
          dpo:
            report: true
            detokenize:
              - {kinds: [email], purposes: [subject-access], reveal: plain}
              - {kinds: [name], purposes: [subject-access], reveal: masked}

        """

    static let values = ["ada.report@example.com", "Ada Lovelace"]

    /// `cvault statement verify` of `bytes`, written to `name` in the server's folder.
    static func verify(_ bytes: [UInt8], _ name: String, on server: ServerHarness) throws -> ProcessResult {
        let path = server.dir + "/" + name
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return try server.cvault(["statement", "verify", path])
    }

    static func expectNoSecret(_ text: String, _ secrets: [String], _ what: String) {
        for secret in secrets { #expect(!text.contains(secret), "\(what) holds a value or a token") }
    }

    /// The items of an export answer as `kind value|!error`.
    static func exported(_ result: Any?) -> [String] {
        let items = ((result as? [String: Any])?["items"] as? [[String: Any]]) ?? []
        return items.map { item in
            "\(item["kind"] as? String ?? "?") " + ((item["value"] as? String) ?? "!\(item["error"] as? String ?? "?")")
        }
    }

    /// Expects `run` (`cvault subject export` or the Python client) to have printed the export `expected`.
    static func expectExport(_ run: ProcessResult, _ expected: [String], _ what: String) throws {
        #expect(run.status == 0, "\(what): \(run.stderr)")
        #expect(exported(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) == expected, "\(what)")
    }

    @Test func theReportOverTheSocketVerifiesAndATamperedCopyDoesNot() async throws {
        let server = try ServerHarness(policy: Self.policy)
        defer { server.destroy() }
        try server.start()
        let email = try server.tokenize(kind: "email", subject: "cust-42", values: [Self.values[0]])
        let name = try server.tokenize(kind: "name", subject: "cust-42", values: [Self.values[1]])
        #expect(try server.detokenize(email + name).map { $0["reveal"] } == ["plain", "plain"])
        let secrets = Self.values + email + name

        let response = try server.call("subject.report", ["subject": "cust-42"])
        let statement = try #require(response.resultObject?["statement"] as? String, "\(response)")
        Self.expectNoSecret(statement, secrets, "the report")
        let intact = try Self.verify(Array(statement.utf8), "report.json", on: server)
        #expect(intact.status == 0, "\(intact.stderr)")
        #expect(intact.stdout.contains("statement intact: access report"))
        var flipped = Array(statement.utf8)
        flipped[flipped.count / 3] ^= 0x01
        let tampered = try Self.verify(flipped, "tampered.json", on: server)
        #expect(tampered.status == 3, "\(tampered.stdout) \(tampered.stderr)")

        // The CLI through the socket: a summary for people, and the file.
        let online = try server.cvault(
            [
                "subject", "report", "--socket", server.socketPath, "--subject", "cust-42", "--out",
                server.dir + "/cli.json",
            ]
        )
        #expect(online.status == 0, "\(online.stderr)")
        #expect(online.stdout.hasPrefix("access report for subject cust-42: held"))
        #expect(online.stdout.contains("disclosures: 2"))
        Self.expectNoSecret(online.stdout, secrets, "the summary")
        #expect(try server.cvault(["statement", "verify", server.dir + "/cli.json"]).status == 0)

        // The Python client writes the file byte for byte.
        let python = try server.python(["subject-report", "--subject", "cust-42", "--out", server.dir + "/py.json"])
        #expect(python.status == 0, "\(python.stderr)")
        #expect(try server.cvault(["statement", "verify", server.dir + "/py.json"]).status == 0)

        // The export through the gate: emails plain, names only masked for subject-access, so not exported.
        let export = try server.call("subject.export", ["subject": "cust-42", "purpose": "subject-access"])
        let expected = ["email \(Self.values[0])", "name !denied"]
        #expect(Self.exported(export["result"]) == expected)
        let exportArguments = ["--subject", "cust-42", "--purpose", "subject-access"]
        let cli = try server.cvault(["subject", "export", "--socket", server.socketPath] + exportArguments)
        try Self.expectExport(cli, expected, "cvault subject export --socket")
        try Self.expectExport(try server.python(["subject-export"] + exportArguments), expected, "the Python client")

        // Offline, on the vault's files: the same answers, and the report now lists the exports.
        server.stop()
        let offline = try server.cvault([
            "subject", "report", "--policy", server.policyPath, "--subject", "cust-42", "--json",
        ])
        #expect(offline.status == 0, "\(offline.stderr)")
        Self.expectNoSecret(offline.stdout, secrets, "the offline report")
        #expect(try Self.verify(Array(offline.stdout.utf8), "offline.json", on: server).status == 0)
        #expect(offline.stdout.contains("\"subject_export\""))
        let offlineExport = try server.cvault(["subject", "export", "--policy", server.policyPath] + exportArguments)
        try Self.expectExport(offlineExport, expected, "cvault subject export offline")
        #expect(try server.cvault(["audit", "verify"]).status == 0)
    }
}
