import Testing

@testable import VaultClient

/// The client's own JSON reading and writing, without a server.
struct ClientJSONTests {
    @Test func parsesResponsesExactly() {
        let line =
            #" {"jsonrpc":"2.0","id":7,"result":{"items":[{"value":"a\"b\\c\n\u00e9\ud83d\ude00","reveal":"plain"},{"error":"denied"}],"n":-1.5e2,"t":true,"z":null}} "#
        let value = JSONParser.parse(Array(line.utf8))
        #expect(value?["id"] == .int(7))
        #expect(
            value?["result"]?["items"]
                == .array([
                    .object(["value": .string("a\"b\\c\né😀"), "reveal": .string("plain")]),
                    .object(["error": .string("denied")]),
                ])
        )
        #expect(value?["result"]?["n"] == .double(-150))
        #expect(value?["result"]?["t"] == .bool(true))
        #expect(value?["result"]?["z"] == .null)
    }

    @Test(arguments: [
        "", "{", "{\"a\":1,}", "[1 2]", "{\"a\":1} x", "01", "1.", "-", "\"\\ud800\"", "\"\\udc00x\"", "\"a\u{01}\"",
        "tru", "{\"a\" 1}", "\"\\x\"", String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func refusesWhatIsNotOneJSONText(_ text: String) {
        #expect(JSONParser.parse(Array(text.utf8)) == nil)
    }

    @Test func refusesInvalidUTF8() {
        #expect(JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) == nil)
        #expect(JSONParser.parse([0x22, 0xC3, 0xA9, 0x22]) == .string("é"))
    }

    @Test func requestLines() {
        var params = RequestParams()
        params.add("kind", string: "email")
        params.add("values", strings: ["a@b.example", "x\"y"])
        let line = String(decoding: params.line(id: 3, method: "tokenize"), as: UTF8.self)
        #expect(
            line
                == #"{"jsonrpc":"2.0","id":3,"method":"tokenize","params":{"kind":"email","values":["a@b.example","x\"y"]}}"#
                + "\n"
        )
        var limited = RequestParams()
        limited.add("limits", limits: VaultClient.TokenLimits(purposes: ["a/b"], expiresAt: 0, maxReveals: 2))
        limited.add("scope", string: "s\u{2028}")
        #expect(
            String(decoding: limited.line(id: 4, method: "tokenize"), as: UTF8.self)
                == #"{"jsonrpc":"2.0","id":4,"method":"tokenize","params":{"limits":{"expires_at":"1970-01-01T00:00:00Z","#
                + #""max_reveals":2,"purposes":["a/b"]},"scope":"s\u2028"}}"# + "\n"
        )
        var none = RequestParams()
        none.omit = true
        #expect(
            String(decoding: none.line(id: 1, method: "health"), as: UTF8.self)
                == #"{"jsonrpc":"2.0","id":1,"method":"health"}"# + "\n"
        )
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00Z"), (951_782_400, "2000-02-29T00:00:00Z"),
        (4_102_444_799, "2099-12-31T23:59:59Z"),
        (1_798_761_600, "2027-01-01T00:00:00Z"), (-1, "1969-12-31T23:59:59Z"),
    ])
    func timestamps(_ seconds: Int64, _ text: String) {
        #expect(VaultClient.TokenLimits.timestamp(seconds) == text)
    }

    @Test func errorDescriptionsNameWhereAndWhy() {
        let value = VaultClientError(
            code: -32602,
            message: "Invalid params",
            data: [
                "index": .int(1), "kind": .string("card"), "reason": .string("fails the Luhn check"),
                "request_id": .string("r9"),
            ]
        )
        #expect(
            value.description == "Invalid params (-32602): card value at index 1: fails the Luhn check (request r9)"
        )
        let field = VaultClientError(
            code: -32004,
            message: "too large",
            data: ["field": .string("values"), "limit": .int(8)]
        )
        #expect(field.description == "too large (-32004): values (limit 8)")
    }
}
