import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every suite nested in this one (ServerProtocolTests, ServerIdentityTests, ServerBadInputTests,
/// ServerPythonClientTests) talks to one `cvault serve`, started once with canary values.
@Suite(.sharedServer, .timeLimit(.minutes(10)))
struct ServerSharedSuite {}

extension ServerSharedSuite {
    /// docs/PROTOCOL.md §1, §3, §4, §6: result shapes, ordering, batches, notifications, ids.
    @Suite struct ServerProtocolTests {
        let server: ServerHarness
        init() throws { server = try SharedServer.get() }

        @Test func healthHasExactlyTheDocumentedShape() throws {
            let response = try server.call("health", id: 1)
            #expect(Set(response.keys) == ["jsonrpc", "id", "result"])
            #expect(response["jsonrpc"] as? String == "2.0")
            #expect(response["id"] as? Int == 1)
            let result = try #require(response.resultObject)
            #expect(Set(result.keys) == ["status", "version", "active_kek", "audit"])
            #expect(result["status"] as? String == "ok")
            #expect(result["audit"] as? String == "ok")
            let version = try #require(result["version"] as? String)
            #expect(
                version.split(separator: ".").count == 3 && version.split(separator: ".").allSatisfy { Int($0) != nil }
            )
            #expect((result["active_kek"] as? Int).map { $0 >= 1 } == true)
        }

        @Test func healthAcceptsEmptyParamsObject() throws {
            let response = try server.call("health", [String: Any](), id: 2)
            #expect(response.resultObject?["status"] as? String == "ok")
        }

        @Test func whoamiNamesTheIdentityAndItsRoles() throws {
            let result = try #require(try server.call("whoami").resultObject)
            #expect(Set(result.keys) == ["identity", "roles"])
            #expect(result["identity"] as? String == "operator")
            #expect(result["roles"] as? [String] == ["admin"])
        }

        @Test func socketFileHasTheRequestedMode() throws {
            var info = stat()
            #expect(lstat(server.socketPath, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o7777 == 0o666)
        }

        @Test func tokenizeDetokenizeEraseRoundTrip() throws {
            let connection = try RawConnection(server.socketPath)
            let tokenized = try connection.call(
                requestLine(
                    id: 10,
                    method: "tokenize",
                    params: [
                        "kind": "email", "subject": "proto-roundtrip",
                        "values": ["Ada@Example.COM", "grace@example.org", "Ada@Example.COM"],
                    ]
                )
            )
            #expect(tokenized["id"] as? Int == 10)
            let result = try #require(tokenized.resultObject)
            #expect(Set(result.keys) == ["tokens"])
            let tokens = try #require(result["tokens"] as? [String])
            #expect(tokens.count == 3)
            #expect(tokens.allSatisfy(isOpaqueToken))
            #expect(Set(tokens).count == 3, "opaque tokens: a repeated value gets a new token")

            let detokenized = try connection.call(
                requestLine(
                    id: 11,
                    method: "detokenize",
                    params: [
                        "tokens": tokens + ["tok_AAAAAAAAAAAAAAAAAAAAAA", "not a token"], "purpose": "ops",
                    ]
                )
            )
            let items = try #require(detokenized.resultObject?["items"] as? [[String: String]])
            let expected: [[String: String]] = [
                ["value": "Ada@example.com", "reveal": "plain"], ["value": "grace@example.org", "reveal": "plain"],
                ["value": "Ada@example.com", "reveal": "plain"], ["error": "not_found"], ["error": "not_found"],
            ]
            let same = items == expected
            #expect(same, "detokenize items differ from the normalized values and not_found entries")

            let denied = try connection.call(
                requestLine(id: 12, method: "detokenize", params: ["tokens": tokens, "purpose": "support"])
            )
            #expect(
                denied.resultObject?["items"] as? [[String: String]] == Array(repeating: ["error": "denied"], count: 3)
            )

            let erased = try connection.call(
                requestLine(id: 13, method: "erase", params: ["subject": "proto-roundtrip"])
            )
            #expect(erased.resultObject?["erased"] as? Int == 3)
            let again = try connection.call(
                requestLine(id: 14, method: "erase", params: ["subject": "proto-roundtrip"])
            )
            #expect(again.resultObject?["erased"] as? Int == 0)
            let gone = try connection.call(
                requestLine(id: 15, method: "detokenize", params: ["tokens": tokens, "purpose": "ops"])
            )
            #expect(
                gone.resultObject?["items"] as? [[String: String]] == Array(repeating: ["error": "not_found"], count: 3)
            )
        }

        @Test func tokenShapesFollowThePolicyModes() throws {
            let card = try server.tokenize(kind: "card", subject: "proto-shapes", values: ["4111 1111 1111 1111"])[0]
            #expect(card.count == 16 && card.allSatisfy(\.isNumber) && card.hasSuffix("1111"))
            #expect(!luhnValid(card), "a format-preserving card token fails the Luhn check")
            let a = try server.tokenize(kind: "name", subject: "proto-shapes-a", values: ["Ada  Lovelace"])[0]
            let b = try server.tokenize(kind: "name", subject: "proto-shapes-b", values: ["Ada Lovelace"])[0]
            #expect(isOpaqueToken(a) && a == b, "deterministic: the same normalized name gives the same token")
            let items = try server.detokenize([card, a])
            let same =
                items == [
                    ["value": "4111111111111111", "reveal": "plain"], ["value": "Ada Lovelace", "reveal": "plain"],
                ]
            #expect(same, "both tokens reveal their normalized values")
        }

        @Test func pipelinedRequestsAreAnsweredInOrder() throws {
            let connection = try RawConnection(server.socketPath)
            var lines = ""
            for i in 1...60 {
                switch i % 3 {
                case 0: lines += requestLine(id: i, method: "health") + "\n"
                case 1: lines += requestLine(id: i, method: "whoami") + "\n"
                default:
                    lines +=
                        requestLine(
                            id: i,
                            method: "tokenize",
                            params: ["kind": "text", "subject": "proto-pipe", "values": ["v\(i)"]]
                        ) + "\n"
                }
            }
            try connection.send(lines)
            var ids: [Int] = []
            for _ in 1...60 {
                let response = try connection.readObject()
                #expect(response["error"] == nil)
                ids.append(response["id"] as? Int ?? -1)
            }
            #expect(ids == Array(1...60))
        }

        @Test func pipelinedRequestsTakeEffectInOrder() throws {
            let token = try server.tokenize(kind: "name", subject: "proto-order", values: ["Grace Hopper"])[0]
            let connection = try RawConnection(server.socketPath)
            try connection.send(
                [
                    requestLine(id: 1, method: "erase", params: ["subject": "proto-order"]),
                    requestLine(id: 2, method: "detokenize", params: ["tokens": [token], "purpose": "ops"]),
                    requestLine(
                        id: 3,
                        method: "tokenize",
                        params: ["kind": "name", "subject": "proto-order", "values": ["Grace Hopper"]]
                    ),
                    requestLine(id: 4, method: "detokenize", params: ["tokens": [token], "purpose": "ops"]),
                ].joined(separator: "\n") + "\n"
            )
            #expect(try connection.readObject().resultObject?["erased"] as? Int == 1)
            #expect(
                try connection.readObject().resultObject?["items"] as? [[String: String]] == [["error": "not_found"]]
            )
            #expect(try connection.readObject().resultObject?["tokens"] as? [String] == [token])
            let revealed =
                try connection.readObject().resultObject?["items"] as? [[String: String]] == [
                    ["value": "Grace Hopper", "reveal": "plain"]
                ]
            #expect(revealed, "tokenized again, the token reveals its value")
        }

        @Test func batchIsAnsweredAsOneArrayInOrder() throws {
            let connection = try RawConnection(server.socketPath)
            try connection.sendLine(
                #"[{"jsonrpc":"2.0","id":"a","method":"whoami"},{"jsonrpc":"2.0","method":"health"},{"jsonrpc":"2.0","id":"b","method":"nope"},7,{"jsonrpc":"2.0","id":3,"method":"health"}]"#
            )
            let batch = try #require(try connection.readJSON() as? [[String: Any]])
            #expect(batch.count == 4)
            guard batch.count == 4 else { return }
            #expect(batch[0]["id"] as? String == "a")
            #expect(batch[0].resultObject?["identity"] as? String == "operator")
            #expect(batch[1]["id"] as? String == "b")
            #expect(batch[1].errorCode == -32601)
            #expect(batch[2].idIsNull && batch[2].errorCode == -32600)
            #expect(batch[3]["id"] as? Int == 3 && batch[3].resultObject?["status"] as? String == "ok")
        }

        @Test func emptyBatchGetsOneErrorObject() throws {
            let connection = try RawConnection(server.socketPath)
            let response = try connection.call("[]")
            #expect(response.idIsNull && response.errorCode == -32600)
        }

        @Test func notificationsGetNoReply() throws {
            let connection = try RawConnection(server.socketPath)
            try connection.send(
                [
                    #"{"jsonrpc":"2.0","method":"health"}"#,
                    #"{"jsonrpc":"2.0","method":"nope"}"#,
                    #"{"jsonrpc":"2.0","method":"tokenize","params":{"kind":"card"}}"#,
                    #"[{"jsonrpc":"2.0","method":"health"},{"jsonrpc":"2.0","method":"whoami"}]"#,
                    #"{"jsonrpc":"2.0","method":"tokenize","params":{"kind":"text","subject":"proto-notify","values":["n1","n2"]}}"#,
                    #"{"jsonrpc":"2.0","id":"after","method":"erase","params":{"subject":"proto-notify"}}"#,
                ].joined(separator: "\n") + "\n"
            )
            let first = try connection.readObject()
            #expect(first["id"] as? String == "after", "the first answer is the first request with an id")
            #expect(
                first.resultObject?["erased"] as? Int == 2,
                "the tokenize notification was executed before"
            )
        }

        @Test func invalidNotificationIsAnsweredWithNullID() throws {
            let connection = try RawConnection(server.socketPath)
            let response = try connection.call(#"{"jsonrpc":"2.0","method":5}"#)
            #expect(response.idIsNull && response.errorCode == -32600)
            let badParams = try connection.call(#"{"jsonrpc":"2.0","method":"health","params":5}"#)
            #expect(badParams.idIsNull && badParams.errorCode == -32600)
        }

        @Test(arguments: [
            (#""abc""#, "\"abc\""), (#""""#, "\"\""), (#""\u00e9\ud83d\ude00 \"q\" \\ \u2028""#, nil),
            ("0", "0"), ("-1", "-1"), ("9007199254740991", "9007199254740991"),
            ("-9007199254740991", "-9007199254740991"),
            ("null", "null"),
        ])
        func idIsEchoedExactly(id: String, raw: String?) throws {
            let connection = try RawConnection(server.socketPath)
            try connection.sendLine(#"{"jsonrpc":"2.0","id":\#(id),"method":"health"}"#)
            let line = try #require(try connection.readLine())
            let response = try #require(try parseJSON(line) as? [String: Any])
            #expect(response.resultObject?["status"] as? String == "ok")
            let sent = try parseJSON(Array(id.utf8))
            let echoed = try #require(response["id"])
            #expect(sameID(sent, echoed), "the id comes back with the same type and value")
            if let raw {
                #expect(
                    String(decoding: line, as: UTF8.self).contains("\"id\":\(raw),"),
                    "the id comes back with the same JSON type"
                )
            }
        }

        /// Answers in the bytes the wire has always had (VaultJSON's `.wire` options): control characters as
        /// `\u00xx`, backspace and form feed included, `\t` `\n` `\r` by name, U+2028 and U+2029 escaped,
        /// `/`, DEL and other non-ASCII as they are; result and error members in their documented order.
        @Test func answersAreWrittenInTheWiresBytes() throws {
            let value = "b\u{8}f\u{C}\u{1}\t\n\r\"\\\u{7F}é\u{2028}\u{2029}/z"
            let token = try server.tokenize(kind: "text", subject: "proto-wire-bytes", values: [value])[0]
            let connection = try RawConnection(server.socketPath)
            func line(_ request: String) throws -> String {
                try connection.sendLine(request)
                return String(decoding: try #require(try connection.readLine()), as: UTF8.self)
            }
            let revealed = try line(
                requestLine(id: 31, method: "detokenize", params: ["tokens": [token], "purpose": "ops"])
            )
            #expect(
                revealed
                    == #"{"jsonrpc":"2.0","id":31,"result":{"items":[{"value":"b\u0008f\u000c\u0001\t\n\r\"\\"#
                    + "\u{7F}é" + #"\u2028\u2029/z","reveal":"plain"}]}}"#
            )
            #expect(
                try line(requestLine(id: 32, method: "whoami"))
                    == #"{"jsonrpc":"2.0","id":32,"result":{"identity":"operator","roles":["admin"]}}"#
            )
            #expect(
                try line(requestLine(id: 33, method: "health")).hasPrefix(
                    #"{"jsonrpc":"2.0","id":33,"result":{"status":"ok","version":""#
                )
            )
            let missing = try line(requestLine(id: "i\u{2028}/", method: "no-such-method"))
            let prefix = #"{"jsonrpc":"2.0","id":"i\u2028/","error":{"code":-32601,"message":"Method not found","#
            #expect(missing.hasPrefix(prefix + #""data":{"request_id":"r"#) && missing.hasSuffix(#""}}}"#))
        }

        @Test(arguments: ["1.5", "1e3", "1.0", "true", "{}", "[1]", "9007199254740992", "-9007199254740992"])
        func idOfAnotherKindIsAnInvalidRequest(id: String) throws {
            let connection = try RawConnection(server.socketPath)
            let response = try connection.call(#"{"jsonrpc":"2.0","id":\#(id),"method":"health"}"#)
            #expect(response.idIsNull)
            #expect(response.errorCode == -32600)
        }

        @Test func crlfAndBlankLinesAreAccepted() throws {
            let connection = try RawConnection(server.socketPath)
            try connection.send(
                "\n   \n\t\n" + requestLine(id: 1, method: "health") + "\r\n" + " \r\n"
                    + requestLine(id: 2, method: "whoami") + "\r\n"
            )
            #expect(try connection.readObject()["id"] as? Int == 1)
            #expect(try connection.readObject()["id"] as? Int == 2)
        }

        @Test func halfCloseGetsEveryAnswerAndAFinalLineWithoutNewline() throws {
            let connection = try RawConnection(server.socketPath)
            try connection.send(requestLine(id: 1, method: "health") + "\n" + requestLine(id: 2, method: "whoami"))
            connection.shutdownWrite()
            let lines = try connection.readUntilClosed()
            #expect(lines.count == 2)
            let ids = try lines.map { (try parseJSON($0) as? [String: Any])?["id"] as? Int }
            #expect(ids == [1, 2])
        }

        @Test func forbiddenAndParamErrorsHaveTheDocumentedData() throws {
            let connection = try RawConnection(server.socketPath)
            let bad = try connection.call(
                requestLine(
                    id: 1,
                    method: "tokenize",
                    params: [
                        "kind": "card", "subject": "proto-errors", "values": ["4111111111111111", "4111111111111112"],
                    ]
                )
            )
            #expect(bad.errorCode == -32602)
            let data = try #require(bad.errorData)
            #expect(data["index"] as? Int == 1 && data["kind"] as? String == "card" && data["field"] == nil)
            #expect(data["reason"] is String)
            // The failed call stored nothing: the subject has no tokens.
            #expect(
                try connection.call(requestLine(id: 2, method: "erase", params: ["subject": "proto-errors"]))
                    .resultObject?["erased"] as? Int == 0
            )
        }
    }
}

/// Two parsed JSON-RPC ids are the same JSON type and value.
func sameID(_ a: Any, _ b: Any) -> Bool {
    if a is NSNull || b is NSNull { return a is NSNull && b is NSNull }
    if let x = a as? String, let y = b as? String { return x == y }
    if a is String || b is String { return false }
    if let x = a as? NSNumber, let y = b as? NSNumber { return x.int64Value == y.int64Value }
    return false
}

/// `tok_` and 22 base62 characters.
func isOpaqueToken(_ token: String) -> Bool {
    token.hasPrefix("tok_") && token.count == 26
        && token.dropFirst(4).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
}
