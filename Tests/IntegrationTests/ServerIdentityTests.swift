import Foundation
import Testing

extension ServerSharedSuite {
    /// docs/PROTOCOL.md §2: the caller is the socket peer's uid, and gets exactly what the policy grants it.
    /// Other uids run the Python client through setpriv.
    @Suite struct ServerIdentityTests {
        let server: ServerHarness
        init() throws { server = try SharedServer.get() }

        /// Sends `lines` with the Python client's `raw` command as `uid`; the parsed response lines.
        func rawSession(_ lines: [String], uid: UInt32) throws -> [Any] {
            let result = try server.python(["raw"], uid: uid, stdin: Array((lines.joined(separator: "\n") + "\n").utf8))
            #expect(result.status == 0, "cvault_client raw failed: \(result.stderr)")
            return try result.stdout.split(separator: "\n").map { try parseJSON(Array($0.utf8)) }
        }

        @Test func rootGetsItsIdentity() throws {
            let result = try #require(try server.call("whoami").resultObject)
            #expect(result["identity"] as? String == "operator")
            #expect(result["roles"] as? [String] == ["admin"])
        }

        @Test func uid1001GetsItsIdentityAndMaskedValuesOnly() throws {
            let email = try server.tokenize(kind: "email", subject: "id-1001", values: ["ada@example.com"])[0]
            let card = try server.tokenize(kind: "card", subject: "id-1001", values: ["4111111111111111"])[0]
            let name = try server.tokenize(kind: "name", subject: "id-1001", values: ["Ada King Lovelace"])[0]
            let phone = try server.tokenize(kind: "phone", subject: "id-1001", values: ["+1 415 555 0123"])[0]

            let responses = try rawSession(
                [
                    requestLine(id: 1, method: "whoami"),
                    requestLine(
                        id: 2,
                        method: "detokenize",
                        params: ["tokens": [email, card, name, phone], "purpose": "support"]
                    ),
                    requestLine(id: 3, method: "detokenize", params: ["tokens": [email, card], "purpose": "ops"]),
                ],
                uid: 1001
            )
            #expect(responses.count == 3)
            guard responses.count == 3 else { return }
            let whoami = try #require((responses[0] as? [String: Any])?.resultObject)
            #expect(whoami["identity"] as? String == "helpdesk")
            #expect(whoami["roles"] as? [String] == ["support"])

            let masked = (responses[1] as? [String: Any])?.resultObject?["items"] as? [[String: String]]
            let expected: [[String: String]] = [
                ["value": "a***@example.com", "reveal": "masked"], ["value": "************1111", "reveal": "masked"],
                ["value": "A. K. L.", "reveal": "masked"], ["error": "denied"],
            ]
            let same = masked == expected
            #expect(same, "uid 1001 sees masks for email, card and name, and nothing for phone")

            let other = (responses[2] as? [String: Any])?.resultObject?["items"] as? [[String: String]]
            #expect(other == [["error": "denied"], ["error": "denied"]], "no grant for purpose ops")
        }

        @Test func uid1001IsForbiddenWhatItsRoleLacks() throws {
            let responses = try rawSession(
                [
                    requestLine(
                        id: 1,
                        method: "tokenize",
                        params: ["kind": "card", "subject": "id-forbid", "values": ["4111111111111111"]]
                    ),
                    requestLine(id: 2, method: "erase", params: ["subject": "canary-subject"]),
                    requestLine(
                        id: 3,
                        method: "tokenize",
                        params: ["kind": "name", "subject": "id-forbid", "values": ["Ada Lovelace"]]
                    ),
                ],
                uid: 1001
            )
            #expect(responses.count == 3)
            guard responses.count == 3 else { return }
            let tokenize = try #require(responses[0] as? [String: Any])
            #expect(tokenize["id"] as? Int == 1 && tokenize.errorCode == -32002)
            #expect(tokenize.errorData?["method"] as? String == "tokenize")
            #expect(tokenize.errorData?["kind"] as? String == "card")
            let erase = try #require(responses[1] as? [String: Any])
            #expect(erase["id"] as? Int == 2 && erase.errorCode == -32002)
            #expect(erase.errorData?["method"] as? String == "erase")
            // Its one tokenize grant works, and the deterministic name token is the one root gets.
            let allowed = try #require((responses[2] as? [String: Any])?.resultObject?["tokens"] as? [String])
            let rootToken = try server.tokenize(kind: "name", subject: "id-forbid-root", values: ["Ada Lovelace"])
            #expect(allowed == rootToken)
            // The refused erase erased nothing.
            #expect(try server.canariesIntact())
        }

        /// §6.6: param formats (3), then item count (4), then the policy (5).
        @Test func checksComeInTheDocumentedOrder() throws {
            let responses = try rawSession(
                [
                    requestLine(
                        id: 1,
                        method: "tokenize",
                        params: ["kind": "card", "subject": "bad subject", "values": ["4111111111111111"]]
                    ),
                    requestLine(
                        id: 2,
                        method: "tokenize",
                        params: [
                            "kind": "card", "subject": "order",
                            "values": Array(repeating: "4111111111111111", count: 1001),
                        ]
                    ),
                    requestLine(
                        id: 3,
                        method: "tokenize",
                        params: ["kind": "card", "subject": "order", "values": ["not a card"]]
                    ),
                    requestLine(id: 4, method: "erase", params: ["subject": "bad subject"]),
                ],
                uid: 1001
            )
            let codes = responses.map { ($0 as? [String: Any])?.errorCode }
            #expect(codes == [-32602, -32004, -32002, -32602])
            let fields = responses.map { ($0 as? [String: Any])?.errorData?["field"] as? String }
            #expect(fields == ["subject", "values", nil, "subject"])
        }

        @Test func unknownUidGetsOneErrorThenTheConnectionCloses() throws {
            let responses = try rawSession(
                [
                    "   ",
                    requestLine(id: 7, method: "whoami"),
                    requestLine(id: 8, method: "health"),
                    requestLine(
                        id: 9,
                        method: "tokenize",
                        params: ["kind": "text", "subject": "id-unknown", "values": ["x"]]
                    ),
                ],
                uid: 1002
            )
            #expect(responses.count == 1, "one answer, then the server closes")
            let response = try #require(responses.first as? [String: Any])
            #expect(response.idIsNull, "answered at accept, before any line is read")
            #expect(response.errorCode == -32001)
            #expect(response.errorData?["uid"] as? Int == 1002)
            // Nothing after the first line was executed.
            #expect(try server.call("erase", ["subject": "id-unknown"]).resultObject?["erased"] as? Int == 0)
        }

        @Test(arguments: [
            "[" + requestLine(id: 1, method: "whoami") + "]",
            "{not json",
            requestLine(method: "whoami").replacingOccurrences(of: "\"id\":1,", with: ""),
        ])
        func unknownUidGetsOneNullIDErrorForAnyFirstLine(line: String) throws {
            let responses = try rawSession([line, requestLine(id: 2, method: "health")], uid: 1002)
            #expect(responses.count == 1)
            let response = try #require(responses.first as? [String: Any], "a single error object, never an array")
            #expect(response.idIsNull && response.errorCode == -32001)
        }

        @Test func unknownUidGetsUnknownIdentityForAnOverlongLine() throws {
            let result = try server.python(
                ["raw"],
                uid: 1002,
                stdin: Array(repeating: UInt8(ascii: "x"), count: 3 << 20)
            )
            #expect(result.status == 0)
            let lines = result.stdout.split(separator: "\n")
            #expect(lines.count == 1)
            let response = try #require(try lines.first.map { try parseJSON(Array($0.utf8)) } as? [String: Any])
            #expect(response.idIsNull)
            #expect(response.errorCode == -32001, "an unknown uid gets -32001 for anything, an over-long line too")
        }
    }
}
