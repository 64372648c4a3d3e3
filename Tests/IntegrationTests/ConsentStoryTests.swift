import Foundation
import Testing
import VaultClient

#if canImport(Glibc)
import Glibc
#endif

/// The issue's "done when", against a real server: a preference centre records a customer's choice through
/// the socket, a marketing service is refused that customer's email the moment the choice is withdrawn; once
/// through the Swift client, once through the Python client's methods, each identity under its own uid.
@Suite(.serialized) struct ConsentStoryTests {
    /// A script that calls one method of Tools/cvault_client.py's `VaultClient` and prints its answer as JSON
    /// (or `error CODE` and exit 2 for an error answer).
    static let script = """
        import argparse, json, sys
        from cvault_client import VaultClient, VaultRPCError
        p = argparse.ArgumentParser()
        p.add_argument("--socket")
        p.add_argument("--timeout", type=float)
        p.add_argument("method")
        p.add_argument("args", nargs="*")
        a = p.parse_args()
        with VaultClient(a.socket, timeout=a.timeout) as vault:
            try:
                if a.method == "grant":
                    out = vault.grant_consent(a.args[0], a.args[1].split(","), a.args[2])
                elif a.method == "withdraw":
                    purposes = "*" if a.args[1] == "*" else a.args[1].split(",")
                    out = vault.withdraw_consent(a.args[0], purposes, a.args[2])
                elif a.method == "list":
                    out = vault.consent_list(a.args[0])
                elif a.method == "restrict":
                    out = vault.restrict(a.args[0], a.args[1])
                elif a.method == "unrestrict":
                    out = vault.unrestrict(a.args[0])
                elif a.method == "reveal":
                    out = vault.detokenize(a.args[2:], a.args[0])
                else:
                    raise SystemExit("unknown method")
            except VaultRPCError as e:
                print("error", e.code)
                sys.exit(2)
        print(json.dumps(out, sort_keys=True))

        """

    /// Writes the script into the server's folder (readable by the other uids).
    static func install(_ server: ServerHarness) throws -> String {
        let path = server.dir + "/consent_story.py"
        try Data(script.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        return path
    }

    /// The script's answer to `method args` as `uid`, parsed.
    static func call(
        _ server: ServerHarness,
        _ script: String,
        uid: UInt32,
        _ method: String,
        _ args: [String]
    ) throws -> Any? {
        let result = try server.python([method] + args, uid: uid, script: script)
        guard result.status == 0 else { return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
        return try parseJSON(Array(result.stdout.utf8))
    }

    @Test func thePreferenceCentreWithdrawsAndTheMarketingServiceIsRefusedAtOnce() async throws {
        let server = try ServerHarness(policy: RightsServerPolicies.story())
        defer { server.destroy() }
        try server.start()
        let email = try server.tokenize(kind: "email", subject: "cust-42", values: ["ada@example.com"])

        // The marketing service (uid 1003) is refused until the customer consents.
        let before = try server.python(["detokenize", "--purpose", "marketing"] + email, uid: 1003)
        #expect(before.status == 3 && before.stdout == "!no_consent\n", "\(before.stderr)")

        // The preference centre (uid 0, through the Swift client) records the customer's choice.
        let client = VaultClient(socketPath: server.socketPath)
        let granted = try await client.grantConsent(
            subject: "cust-42",
            purposes: ["marketing"],
            source: "signup-form-v3",
            expiresAt: 1_900_000_000
        )
        #expect(granted == VaultClient.ConsentGranted(granted: ["marketing"], notRequired: []))
        let revealed = try server.python(["detokenize", "--purpose", "marketing"] + email, uid: 1003)
        #expect(revealed.status == 0 && revealed.stdout == "ada@example.com\n", "\(revealed.stderr)")

        // The customer presses the deregister button: refused at once.
        let withdrawn = try await client.withdrawConsent(subject: "cust-42", purposes: .all, source: "email-footer")
        #expect(withdrawn == ["marketing"])
        let after = try server.python(["detokenize", "--purpose", "marketing"] + email, uid: 1003)
        #expect(after.status == 3 && after.stdout == "!no_consent\n")

        let state = try await client.consentList(subject: "cust-42")
        #expect(state.current.map(\.state) == ["withdrawn"] && state.current.map(\.source) == ["email-footer"])
        #expect(state.history.map(\.state) == ["granted", "withdrawn"])
        #expect(state.history.first?.expiresAt == "2030-03-17T17:46:40Z")

        // Only a role with restrict: true may restrict.
        #expect(
            try await client.grantConsent(subject: "cust-42", purposes: ["marketing"], source: "app").granted == [
                "marketing"
            ]
        )
        do {
            _ = try await client.restrict(subject: "cust-42", reason: "objection")
            Issue.record("uid 0 has no restrict permission, yet restricted")
        } catch let error as VaultClientError {
            #expect(error.code == VaultClientError.forbidden)
        }
        await client.close()
    }

    @Test func thePythonClientTellsTheSameStoryThroughItsMethods() throws {
        let server = try ServerHarness(policy: RightsServerPolicies.story())
        defer { server.destroy() }
        try server.start()
        let script = try Self.install(server)
        let email = try server.tokenize(kind: "email", subject: "cust-43", values: ["grace@example.com"])
        let reveal = {
            try Self.call(server, script, uid: 1003, "reveal", ["marketing", "-"] + email) as? [[String: String]]
        }

        #expect(try reveal() == [["error": "no_consent"]])
        let granted = try Self.call(
            server,
            script,
            uid: 1004,
            "grant",
            ["cust-43", "marketing,surveys", "signup-form-v3"]
        )
        #expect(
            (granted as? [String: [String]]) == ["granted": ["marketing", "surveys"], "not_required": ["surveys"]]
        )
        #expect(try reveal() == [["value": "grace@example.com", "reveal": "plain"]])

        let withdrawn = try Self.call(server, script, uid: 1004, "withdraw", ["cust-43", "*", "email-footer"])
        #expect(withdrawn as? [String] == ["marketing", "surveys"])
        #expect(try reveal() == [["error": "no_consent"]])

        let listed = try #require(try Self.call(server, script, uid: 1004, "list", ["cust-43"]) as? [String: Any])
        let current = listed["current"] as? [[String: Any]]
        #expect(current?.map { $0["purpose"] as? String } == ["marketing", "surveys"])
        #expect(current?.map { $0["state"] as? String } == ["withdrawn", "withdrawn"])
        #expect(current?.map { $0["required"] as? Bool } == [true, false])
        #expect((listed["history"] as? [[String: Any]])?.count == 4)

        // The marketing service may not record consent, nor read it, nor restrict.
        #expect(
            try Self.call(server, script, uid: 1003, "grant", ["cust-43", "marketing", "forged"]) as? String
                == "error -32002"
        )
        #expect(try Self.call(server, script, uid: 1003, "list", ["cust-43"]) as? String == "error -32002")
        #expect(try Self.call(server, script, uid: 1003, "restrict", ["cust-43", "x"]) as? String == "error -32002")

        // Restriction by the DPO (uid 1005): every reveal is refused except legal-hold.
        _ = try Self.call(server, script, uid: 1004, "grant", ["cust-43", "marketing", "app"])
        #expect(try reveal() == [["value": "grace@example.com", "reveal": "plain"]])
        let held =
            try Self.call(server, script, uid: 1005, "restrict", ["cust-43", "accuracy-contested"]) as? [String: Any]
        #expect(held?["restricted"] as? Bool == true && held?["reason"] as? String == "accuracy-contested")
        #expect(try reveal() == [["error": "restricted"]])
        #expect(
            try server.detokenize(email, purpose: "legal-hold") == [["value": "grace@example.com", "reveal": "plain"]]
        )
        #expect(try Self.call(server, script, uid: 1005, "unrestrict", ["cust-43"]) as? Bool == true)
        #expect(try reveal() == [["value": "grace@example.com", "reveal": "plain"]])
    }

    @Test func badParamsNameTheirField() throws {
        let server = try ServerHarness(policy: RightsServerPolicies.story())
        defer { server.destroy() }
        try server.start()
        func field(_ method: String, _ params: [String: Any]) throws -> String? {
            let response = try server.call(method, params)
            guard response.errorCode == -32602 else { return "code \(response.errorCode ?? 0)" }
            return ((response["error"] as? [String: Any])?["data"] as? [String: Any])?["field"] as? String
        }
        let ok: [String: Any] = ["subject": "cust-1", "purposes": ["marketing"], "source": "form"]
        #expect(try field("consent.grant", ok.merging(["subject": "no spaces"]) { $1 }) == "subject")
        #expect(try field("consent.grant", ok.merging(["purposes": []]) { $1 }) == "purposes")
        #expect(try field("consent.grant", ok.merging(["purposes": "*"]) { $1 }) == "purposes")
        #expect(try field("consent.grant", ok.merging(["purposes": ["Upper"]]) { $1 }) == "purposes")
        #expect(try field("consent.grant", ok.merging(["source": "has space"]) { $1 }) == "source")
        #expect(try field("consent.grant", ok.merging(["source": 7]) { $1 }) == "source")
        #expect(try field("consent.grant", ok.merging(["expires_at": "tomorrow"]) { $1 }) == "expires_at")
        #expect(try field("consent.grant", ok.merging(["expires_at": "2001-01-01T00:00:00Z"]) { $1 }) == "expires_at")
        #expect(try field("consent.withdraw", ok.merging(["purposes": "all"]) { $1 }) == "purposes")
        #expect(try field("consent.withdraw", ["subject": "cust-1", "purposes": "*"]) == "source")
        #expect(try field("consent.list", [:]) == "subject")
        #expect(try field("subject.restrict", ["subject": "cust-1"]) == "reason")
        #expect(try field("subject.restrict", ["subject": "cust-1", "reason": "line\nbreak"]) == "reason")
        #expect(try field("subject.unrestrict", ["subject": ""]) == "subject")
    }
}
