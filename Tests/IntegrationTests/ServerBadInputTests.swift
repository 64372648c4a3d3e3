import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension ServerSharedSuite {
    /// Hostile and broken input (docs/PROTOCOL.md §1, §3, §5, §8). After each, the server must still answer
    /// on a new connection and every canary token must still detokenize to its value.
    @Suite struct ServerBadInputTests {
        let server: ServerHarness
        init() throws { server = try SharedServer.get() }

        func expectServerIntact(_ comment: Comment = "the server answers and the canaries are intact") throws {
            #expect(try server.canariesIntact(), comment)
        }

        @Test func invalidJSONKeepsTheConnectionUsable() throws {
            let connection = try RawConnection(server.socketPath)
            for line in [
                #"{"jsonrpc":"2.0","id":1,"method":"health""#, "{", "nul", #"{"a":1,}"#, "[1,]", "01", #""\x""#,
                requestLine(method: "health") + " garbage",
                requestLine(method: "health") + requestLine(method: "health"),
            ] {
                let response = try connection.call(line)
                #expect(response.idIsNull && response.errorCode == -32700)
                #expect(response.errorData?["field"] == nil)
            }
            #expect(try connection.call(requestLine(id: 5, method: "health"))["id"] as? Int == 5)
            try expectServerIntact()
        }

        @Test func invalidUTF8IsAParseError() throws {
            let connection = try RawConnection(server.socketPath)
            let prefix = Array(#"{"jsonrpc":"2.0","id":1,"method":"health","params":{"x":""#.utf8)
            let suffix = Array(#""}}"#.utf8)
            let bad: [[UInt8]] = [
                [0xFF], [0xC0, 0xAF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80],
                [0xE2, 0x82],
            ]
            for bytes in bad {
                try connection.send(prefix + bytes + suffix + [0x0A])
                let response = try connection.readObject()
                #expect(response.idIsNull && response.errorCode == -32700)
            }
            // Outside a string, and a byte-order mark.
            for line in [
                [0xFF] + Array(requestLine(method: "health").utf8),
                [0xEF, 0xBB, 0xBF] + Array(requestLine(method: "health").utf8),
            ] {
                try connection.send(line + [0x0A])
                #expect(try connection.readObject().errorCode == -32700)
            }
            for escape in [#"\ud800"#, #"\udc00"#, #"\ud800\u0041"#] {
                let response = try connection.call(
                    #"{"jsonrpc":"2.0","id":1,"method":"health","params":{"x":"\#(escape)"}}"#
                )
                #expect(response.idIsNull && response.errorCode == -32700)
            }
            // Well-formed multi-byte UTF-8 and escaped pairs are fine.
            let fine = try connection.call(#"{"jsonrpc":"2.0","id":"é😀\ud83d\ude00","method":"health"}"#)
            #expect(fine["id"] as? String == "é😀😀")
            try expectServerIntact()
        }

        @Test(arguments: [
            "1", #""x""#, "true", "null", "3.5", #"{"jsonrpc":"1.0","id":2,"method":"health"}"#,
            #"{"id":2,"method":"health"}"#, #"{"jsonrpc":"2.0","id":2}"#, #"{"jsonrpc":"2.0","id":2,"method":7}"#,
            #"{"jsonrpc":"2.0","id":2,"method":"health","params":"x"}"#,
            #"{"jsonrpc":"2.0","id":2,"method":"health","params":null}"#,
        ])
        func nonRequestValueIsAnInvalidRequest(line: String) throws {
            let connection = try RawConnection(server.socketPath)
            let response = try connection.call(line)
            #expect(response.errorCode == -32600)
            let idEchoed = response["id"] as? Int == 2
            #expect(idEchoed || response.idIsNull)
            #expect(
                try connection.call(requestLine(id: 9, method: "health"))["id"] as? Int == 9,
                "the connection stays usable"
            )
            try expectServerIntact()
        }

        /// Every field of tokenize, detokenize and erase with a wrong type, a missing value or a bad format:
        /// -32602 naming the field, never echoing what was sent (the marker).
        @Test(
            arguments: [
                ("tokenize", #"{"kind":5,"subject":"s","values":["a@b.co"]}"#, "kind", nil),
                ("tokenize", #"{"kind":"MARKER","subject":"s","values":["a@b.co"]}"#, "kind", nil),
                ("tokenize", #"{"subject":"s","values":["a@b.co"]}"#, "kind", nil),
                ("tokenize", #"{"kind":"email","subject":5,"values":["a@b.co"]}"#, "subject", nil),
                ("tokenize", #"{"kind":"email","subject":"MARKER subject","values":["a@b.co"]}"#, "subject", nil),
                ("tokenize", #"{"kind":"email","values":["a@b.co"]}"#, "subject", nil),
                ("tokenize", #"{"kind":"email","subject":"s","values":"MARKER@b.co"}"#, "values", nil),
                ("tokenize", #"{"kind":"email","subject":"s","values":["a@b.co",5]}"#, "values", 1),
                ("tokenize", #"{"kind":"email","subject":"s","values":[]}"#, "values", nil),
                ("tokenize", #"{"kind":"email","subject":"s"}"#, "values", nil),
                ("tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":5}"#, "limits", nil),
                (
                    "tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"max_reveal":1}}"#,
                    "limits", nil
                ),
                (
                    "tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"purposes":"ops"}}"#,
                    "limits.purposes", nil
                ),
                (
                    "tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"purposes":["ops",5]}}"#,
                    "limits.purposes", 1
                ),
                (
                    "tokenize",
                    #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"purposes":["ops","MARKER"]}}"#,
                    "limits.purposes", 1
                ),
                (
                    "tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"purposes":[]}}"#,
                    "limits.purposes", nil
                ),
                (
                    "tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"expires_at":5}}"#,
                    "limits.expires_at", nil
                ),
                (
                    "tokenize",
                    #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"expires_at":"2099-01-01"}}"#,
                    "limits.expires_at", nil
                ),
                (
                    "tokenize",
                    #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"expires_at":"2099-02-30T00:00:00Z"}}"#,
                    "limits.expires_at", nil
                ),
                (
                    "tokenize",
                    #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"expires_at":"2001-01-01T00:00:00Z"}}"#,
                    "limits.expires_at", nil
                ),
                (
                    "tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"max_reveals":"1"}}"#,
                    "limits.max_reveals", nil
                ),
                (
                    "tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"max_reveals":1.5}}"#,
                    "limits.max_reveals", nil
                ),
                (
                    "tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"max_reveals":0}}"#,
                    "limits.max_reveals", nil
                ),
                (
                    "tokenize",
                    #"{"kind":"email","subject":"s","values":["a@b.co"],"limits":{"max_reveals":2147483648}}"#,
                    "limits.max_reveals", nil
                ),
                (
                    "tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"idempotency_key":5}"#,
                    "idempotency_key", nil
                ),
                (
                    "tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"idempotency_key":"MARKER key"}"#,
                    "idempotency_key", nil
                ),
                ("tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"scope":5}"#, "scope", nil),
                ("tokenize", #"{"kind":"email","subject":"s","values":["a@b.co"],"scope":"MARKER"}"#, "scope", nil),
                ("tokenize", #"[1,2]"#, "params", nil),
                ("detokenize", #"{"tokens":"tok_x","purpose":"ops"}"#, "tokens", nil),
                ("detokenize", #"{"tokens":["tok_x",null],"purpose":"ops"}"#, "tokens", 1),
                ("detokenize", #"{"tokens":[],"purpose":"ops"}"#, "tokens", nil),
                ("detokenize", #"{"purpose":"ops"}"#, "tokens", nil),
                ("detokenize", #"{"tokens":["tok_x"],"purpose":5}"#, "purpose", nil),
                ("detokenize", #"{"tokens":["tok_x"],"purpose":"MARKER!"}"#, "purpose", nil),
                ("detokenize", #"{"tokens":["tok_x"]}"#, "purpose", nil),
                ("erase", #"{"subject":5}"#, "subject", nil),
                ("erase", #"{"subject":"MARKER/../x"}"#, "subject", nil),
                ("erase", #"{}"#, "subject", nil),
                ("erase", #"{"subject":["canary-subject"]}"#, "subject", nil),
            ] as [(String, String, String, Int?)]
        )
        func wrongParamIsInvalidParamsNamingTheField(method: String, params: String, field: String, index: Int?) throws
        {
            let connection = try RawConnection(server.socketPath)
            try connection.sendLine(#"{"jsonrpc":"2.0","id":"p","method":"\#(method)","params":\#(params)}"#)
            let line = try #require(try connection.readLine())
            let response = try #require(try parseJSON(line) as? [String: Any])
            #expect(response["id"] as? String == "p")
            #expect(response.errorCode == -32602)
            #expect(response.errorData?["field"] as? String == field)
            #expect(response.errorData?["index"] as? Int == index)
            #expect(
                !String(decoding: line, as: UTF8.self).contains("MARKER"),
                "caller-supplied strings are never echoed"
            )
            try expectServerIntact()
        }

        @Test func unknownMethodIsMethodNotFound() throws {
            let connection = try RawConnection(server.socketPath)
            for method in ["reveal_all_MARKER", "Health", "", "tokenize "] {
                try connection.sendLine(requestLine(id: "m", method: method))
                let line = try #require(try connection.readLine())
                let response = try #require(try parseJSON(line) as? [String: Any])
                #expect(response["id"] as? String == "m" && response.errorCode == -32601)
                #expect(!String(decoding: line, as: UTF8.self).contains("MARKER"))
            }
            try expectServerIntact()
        }

        @Test func hugeNumbersAreRefusedNotMisread() throws {
            let connection = try RawConnection(server.socketPath)
            let hundredDigits = String(repeating: "9", count: 100)
            for id in ["1e999", "-1e999", hundredDigits, "-" + hundredDigits, "1e-999"] {
                let response = try connection.call(#"{"jsonrpc":"2.0","id":\#(id),"method":"health"}"#)
                #expect(
                    response.idIsNull && response.errorCode == -32600,
                    "an id that is not a safe integer is an invalid request"
                )
            }
            for n in ["1e999", hundredDigits, "-" + hundredDigits, "1e-999"] {
                let response = try connection.call(
                    #"{"jsonrpc":"2.0","id":3,"method":"tokenize","params":{"kind":"text","subject":"bad-numbers","values":["x"],"limits":{"max_reveals":\#(n)}}}"#
                )
                #expect(response["id"] as? Int == 3)
                #expect(response.errorCode == -32602)
                #expect(response.errorData?["field"] as? String == "limits.max_reveals")
            }
            // An integral value written with a fraction or exponent is an integer (§6).
            let integral = try connection.call(
                #"{"jsonrpc":"2.0","id":4,"method":"tokenize","params":{"kind":"text","subject":"bad-numbers","values":["x"],"limits":{"max_reveals":2.0}}}"#
            )
            #expect(integral.resultObject?["tokens"] is [String])
            #expect(
                try connection.call(requestLine(id: 5, method: "erase", params: ["subject": "bad-numbers"]))
                    .resultObject?["erased"] as? Int == 1,
                "only the valid call stored anything"
            )
            try expectServerIntact()
        }

        @Test func deeplyNestedArraysAreRefusedCheaply() throws {
            let connection = try RawConnection(server.socketPath)
            let open = String(repeating: "[", count: 100_000)
            for line in [
                open, open + String(repeating: "]", count: 100_000), String(repeating: #"{"a":"#, count: 50_000),
            ] {
                let response = try connection.call(line)
                #expect(response.idIsNull && response.errorCode == -32700)
            }
            // Moderate nesting inside params is fine (ignored member).
            let nested = String(repeating: "[", count: 20) + String(repeating: "]", count: 20)
            #expect(
                try connection.call(#"{"jsonrpc":"2.0","id":6,"method":"health","params":{"x":\#(nested)}}"#)["id"]
                    as? Int == 6
            )
            try expectServerIntact()
        }

        @Test func duplicateMembersAreNeverResolvedToTheFirst() throws {
            let connection = try RawConnection(server.socketPath)
            let response = try connection.call(#"{"jsonrpc":"2.0","id":1,"method":"health","id":2}"#)
            // §3.1: -32700, or the last one wins; never the first.
            #expect(response.errorCode == -32700 || response["id"] as? Int == 2)
            try expectServerIntact()
        }

        @Test func lineOfExactlyTheLimitIsAccepted() throws {
            let connection = try RawConnection(server.socketPath)
            let request = requestLine(id: 77, method: "health")
            let padded = request + String(repeating: " ", count: (1 << 20) - request.utf8.count)
            #expect(padded.utf8.count == 1 << 20)
            #expect(try connection.call(padded)["id"] as? Int == 77)
            let over = connection
            try over.sendLine(padded + " ")
            let response = try over.readObject()
            #expect(response.idIsNull && response.errorCode == -32004)
            #expect(response.errorData?["limit"] as? Int == 1 << 20)
            #expect(try over.waitForClose())
            try expectServerIntact()
        }

        @Test func hundredMebibyteLineIsRefusedAndClosed() throws {
            let connection = try RawConnection(server.socketPath)
            // Earlier lines are answered first.
            try connection.sendLine(requestLine(id: 1, method: "health"))
            let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
            var sent = 0
            while sent < 100, try connection.send(chunk) { sent += 1 }
            #expect(sent < 100, "the server stopped reading before 100 MiB")
            #expect(try connection.readObject()["id"] as? Int == 1)
            let response = try connection.readObject()
            #expect(response.idIsNull && response.errorCode == -32004)
            #expect(response.errorData?["limit"] as? Int == 1 << 20)
            #expect(try connection.readLine() == nil, "then the connection is closed")
            try expectServerIntact()
        }

        /// A client that pipelines a lot and reads slowly still gets every answer before the server closes:
        /// after an over-long line (then the -32004), or after it shut down its side.
        @Test(arguments: [true, false])
        func slowReaderGetsEveryAnswerBeforeTheClose(overlong: Bool) throws {
            let connection = try RawConnection(server.socketPath)
            connection.readChunkSize = 512
            connection.readPauseMicroseconds = 5000
            let count = 6000
            var data = Array(String(repeating: requestLine(id: 1, method: "whoami") + "\n", count: count).utf8)
            if overlong { data += [UInt8](repeating: UInt8(ascii: "x"), count: (1 << 20) + 2) }
            // Fill every buffer before reading anything, then send the rest while reading slowly.
            var sent = 0
            var stalls = 0
            while sent < data.count, stalls < 50 {
                guard let n = connection.sendNonBlocking(Array(data[sent..<min(sent + 65536, data.count)])) else {
                    break
                }
                if n == 0 {
                    stalls += 1
                    usleep(10_000)
                } else {
                    stalls = 0
                    sent += n
                }
            }
            let sender = connection.sendInBackground(Array(data[sent...]), thenShutdown: !overlong)
            var lines: [[UInt8]] = []
            while lines.count <= count + 1, let line = try connection.readLine() { lines.append(line) }
            #expect(sender.wait(timeout: .now() + 60) == .success)
            #expect(lines.count == count + (overlong ? 1 : 0), "every answer arrives before the close")
            let whole = lines.prefix(count).allSatisfy {
                ((try? parseJSON($0)) as? [String: Any])?.resultObject?["identity"] as? String == "operator"
            }
            #expect(whole, "no answer is cut short")
            if overlong, let last = lines.last {
                let response = try parseJSON(last) as? [String: Any]
                #expect(response?.errorCode == -32004 && response?.idIsNull == true)
            }
            try expectServerIntact()
        }

        @Test func silentClientDoesNotBlockOthers() throws {
            let silent = try RawConnection(server.socketPath)
            let halfLine = try RawConnection(server.socketPath)
            try halfLine.send(#"{"jsonrpc":"2.0","id":1,"method":"he"#)
            for _ in 0..<5 { try expectServerIntact("others are served while two clients sit idle") }
            silent.close()
            halfLine.close()
            try expectServerIntact()
        }

        @Test func halfWrittenRequestThenDisconnectExecutesNothing() throws {
            for cut in [10, 40, 80] {
                let connection = try RawConnection(server.socketPath)
                let request = requestLine(
                    id: 1,
                    method: "tokenize",
                    params: ["kind": "text", "subject": "half-written", "values": ["x"]]
                )
                try connection.send(String(request.prefix(cut)))
                connection.close()
            }
            try expectServerIntact()
            #expect(
                try server.call("erase", ["subject": "half-written"]).resultObject?["erased"] as? Int == 0
            )
        }

        @Test func pipeliningClientThatNeverReadsDoesNotBlockOthers() throws {
            let greedy = try RawConnection(server.socketPath)
            let lines = Array(String(repeating: requestLine(id: 1, method: "whoami") + "\n", count: 1000).utf8)
            var total = 0
            var stalls = 0
            // Write until the kernel buffers are full (the server stopped reading) or 256 MiB went out.
            while total < 256 << 20, stalls < 100 {
                guard let n = greedy.sendNonBlocking(lines) else { break }
                if n == 0 {
                    stalls += 1
                    usleep(10_000)
                } else {
                    stalls = 0
                    total += n
                }
            }
            #expect(stalls >= 100, "the server stops reading from a client that does not read its answers")
            try expectServerIntact("others are served meanwhile")
            greedy.close()
            try expectServerIntact()
        }
    }
}
