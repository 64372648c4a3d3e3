import Foundation
import Testing

extension ServerSharedSuite {
    /// Tools/cvault_client.py, the independent client, driven through its command line against the real
    /// server: exit status and output as its --help documents them.
    @Suite struct ServerPythonClientTests {
        let server: ServerHarness
        init() throws { server = try SharedServer.get() }

        func lines(_ text: String) -> [String] {
            text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }

        @Test func tokenizeDetokenizeUnderTwoRolesThenErase() throws {
            let tokenized = try server.python([
                "tokenize", "--kind", "email", "--subject", "py-cust", "Ada@Example.COM", "bob@example.org",
            ])
            #expect(tokenized.status == 0, "tokenize failed: \(tokenized.stderr)")
            let tokens = lines(tokenized.stdout)
            #expect(tokens.count == 2 && tokens.allSatisfy(isOpaqueToken))
            guard tokens.count == 2 else { return }
            let card = try server.python(
                ["tokenize", "--kind", "card", "--subject", "py-cust"],
                stdin: Array("4111-1111-1111-1111\n".utf8)
            )
            #expect(card.status == 0)
            let all = tokens + lines(card.stdout)
            #expect(all.count == 3)

            let plain = try server.python(["detokenize", "--purpose", "ops"] + all)
            #expect(plain.status == 0)
            let plainSame = lines(plain.stdout) == ["Ada@example.com", "bob@example.org", "4111111111111111"]
            #expect(plainSame, "root sees the normalized values")

            let masked = try server.python(["detokenize", "--purpose", "support"] + all, uid: 1001)
            #expect(masked.status == 0, "detokenize as 1001 failed: \(masked.stderr)")
            let maskedSame = lines(masked.stdout) == ["A***@example.com", "b***@example.org", "************1111"]
            #expect(maskedSame, "uid 1001 sees masks")

            let json = try server.python(["detokenize", "--json", "--purpose", "ops"] + all, uid: 1001)
            #expect(json.status == 3, "not revealed: exit 3")
            let items = (try parseJSON(Array(json.stdout.utf8)) as? [String: Any])?["items"] as? [[String: String]]
            #expect(items == Array(repeating: ["error": "denied"], count: 3))

            let erased = try server.python(["erase", "--subject", "py-cust"])
            #expect(erased.status == 0 && erased.stdout == "3\n")
            let after = try server.python(["detokenize", "--purpose", "ops"] + all)
            #expect(after.status == 3)
            #expect(lines(after.stdout) == ["!not_found", "!not_found", "!not_found"])
        }

        /// One `VaultClient` keeps one connection across calls. Its check that an idle connection is still open
        /// used to wait out the whole timeout (the socket's timeout applies before a recv, whatever its flags) and
        /// then drop the connection as if the server had closed it, so every call after the first reconnected.
        @Test func oneClientReusesItsConnectionAcrossCalls() throws {
            let path = server.dir + "/reuse.py"
            try Data(
                """
                import argparse
                from cvault_client import VaultClient
                p = argparse.ArgumentParser()
                p.add_argument("--socket")
                p.add_argument("--timeout", type=float)
                a = p.parse_args()
                with VaultClient(a.socket, timeout=a.timeout) as vault:
                    vault.whoami()
                    first = vault._sock
                    vault.whoami()
                    vault.whoami()
                    print("reused", vault._sock is first)

                """.utf8
            ).write(to: URL(fileURLWithPath: path))
            chmod(path, 0o644)
            let run = try server.python([], script: path)
            #expect(run.status == 0, "the script failed: \(run.stderr)")
            #expect(run.stdout == "reused True\n")
        }

        @Test func whoamiUnderEachUid() throws {
            let root = try server.python(["whoami"])
            #expect(root.status == 0)
            #expect((try parseJSON(Array(root.stdout.utf8)) as? [String: Any])?["identity"] as? String == "operator")
            let helpdesk = try server.python(["whoami"], uid: 1001)
            #expect(helpdesk.status == 0)
            let identity = try parseJSON(Array(helpdesk.stdout.utf8)) as? [String: Any]
            #expect(identity?["identity"] as? String == "helpdesk" && identity?["roles"] as? [String] == ["support"])
            let unknown = try server.python(["whoami"], uid: 1002)
            #expect(unknown.status == 2)
            #expect(unknown.stderr.contains("(code -32001)"))
            #expect(unknown.stdout.isEmpty)
        }

        @Test func errorsExitTwoWithTheCode() throws {
            let badValue = try server.python(["tokenize", "--kind", "card", "--subject", "py-err", "4111111111111112"])
            #expect(badValue.status == 2 && badValue.stderr.contains("(code -32602)"))
            #expect(badValue.stderr.contains(#""index": 0"#) && badValue.stderr.contains(#""kind": "card""#))
            #expect(!badValue.stderr.contains("4111111111111112"), "the value is never echoed")

            let badPurpose = try server.python(["detokenize", "--purpose", "Not Valid", "tok_AAAAAAAAAAAAAAAAAAAAAA"])
            #expect(
                badPurpose.status == 2 && badPurpose.stderr.contains("(code -32602)")
                    && badPurpose.stderr.contains(#""field": "purpose""#)
            )

            let forbidden = try server.python(
                ["tokenize", "--kind", "card", "--subject", "py-err", "4111111111111111"],
                uid: 1001
            )
            #expect(forbidden.status == 2 && forbidden.stderr.contains("(code -32002)"))
            let noErase = try server.python(["erase", "--subject", "py-err"], uid: 1001)
            #expect(noErase.status == 2 && noErase.stderr.contains("(code -32002)"))

            let badLimits = try server.python([
                "tokenize", "--kind", "text", "--subject", "py-err", "--expires-at", "tomorrow", "x",
            ])
            #expect(badLimits.status == 2 && badLimits.stderr.contains(#""field": "limits.expires_at""#))

            let noServer = try runProcess(
                "/usr/bin/python3",
                [server.clientScript, "--socket", server.dir + "/absent.sock", "health"],
                environment: ["PATH": "/usr/bin:/bin"],
                directory: server.dir
            )
            #expect(noServer.status == 1)
            // Nothing was stored by the failed calls.
            #expect(try server.call("erase", ["subject": "py-err"]).resultObject?["erased"] as? Int == 0)
        }

        @Test func tokenLimitsAndIdempotencyThroughTheClient() throws {
            let first = try server.python([
                "tokenize", "--kind", "text", "--subject", "py-limits", "--max-reveals", "1",
                "--purposes", "ops", "--idempotency-key", "py-key-1", "once",
            ])
            #expect(first.status == 0)
            let retry = try server.python([
                "tokenize", "--kind", "text", "--subject", "py-limits", "--max-reveals", "1",
                "--purposes", "ops", "--idempotency-key", "py-key-1", "once",
            ])
            #expect(retry.status == 0 && retry.stdout == first.stdout, "the same key and request give the same token")
            let other = try server.python([
                "tokenize", "--kind", "text", "--subject", "py-limits", "--idempotency-key", "py-key-1", "other",
            ])
            #expect(other.status == 2 && other.stderr.contains("(code -32602)"))
            do {
                #expect(other.stderr.contains(#""field": "idempotency_key""#))
            }

            let token = lines(first.stdout)
            #expect(token.count == 1)
            let reveal = try server.python(["detokenize", "--purpose", "ops"] + token)
            let revealed = reveal.stdout == "once\n"
            #expect(reveal.status == 0 && revealed)
            let again = try server.python(["detokenize", "--purpose", "ops"] + token)
            #expect(again.status == 3 && again.stdout == "!denied\n", "max_reveals 1 is used up")
        }

        @Test func rawSessionPrintsEveryAnswerInOrder() throws {
            let input = [requestLine(id: 1, method: "health"), "oops", requestLine(id: 3, method: "whoami")].joined(
                separator: "\n"
            )
            let result = try server.python(["raw"], stdin: Array(input.utf8))
            #expect(result.status == 0)
            let responses = try lines(result.stdout).map { try parseJSON(Array($0.utf8)) as? [String: Any] }
            #expect(responses.count == 3)
            #expect(responses.first??["id"] as? Int == 1)
            #expect(responses.dropFirst().first??.errorCode == -32700)
            #expect(responses.last??["id"] as? Int == 3)
        }
    }
}
