import Foundation
import Testing
import VaultJSON

/// The one JSON writer: its escaping per option set pinned byte for byte, its `.foundation` output held
/// against Foundation's own writers (the audit log and the CLI's `--json` output were first written by
/// them), its layout, and the chunked form the server streams into its response buffer.
struct JSONWriterTests {
    /// Every byte below 0x20, the two JSON metacharacters, `/`, DEL, C1 controls, U+2028/U+2029, a BOM and
    /// characters of two to four UTF-8 bytes.
    static let awkward: [String] = [
        "", "plain", "a/b", "quote \" backslash \\", "é ü 😀 \u{2028} \u{2029} \u{7F} \u{80} \u{9F} \u{FEFF}",
        "tab\tnl\nret\rbs\u{08}ff\u{0C}", String((0..<0x20).map { Character(Unicode.Scalar($0)!) }),
        "\u{2020}\u{2030}", "€‚ ✓ ⁠", "tok_SgdSfgWZmT06jf5ofgIYlb",
    ]

    static func written(_ s: String, _ options: JSONWriter.Options) -> String {
        var json = JSONWriter(options: options)
        json.string(s)
        return json.text
    }

    @Test func wireEscapesArePinned() {
        let all = Self.written(String((0..<0x20).map { Character(Unicode.Scalar($0)!) }), .wire)
        #expect(
            all
                == #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\t\n\u000b\u000c\r\u000e\u000f"#
                + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f""#
        )
        #expect(
            Self.written("\" \\ / \u{7F} é 😀 \u{2028}\u{2029} \u{2027}\u{202A}", .wire)
                == #""\" \\ / "# + "\u{7F} é 😀 " + #"\u2028\u2029 "# + "\u{2027}\u{202A}\""
        )
    }

    @Test func foundationEscapesArePinned() {
        #expect(Self.written("bs\u{08}ff\u{0C}\u{1}\u{1F}", .foundation) == #""bs\bff\f\u0001\u001f""#)
        #expect(Self.written("\u{2028}/\u{7F}", .foundation) == "\"\u{2028}/\u{7F}\"")
    }

    /// `.foundation` is byte for byte `JSONSerialization` and `JSONEncoder` with `.withoutEscapingSlashes`.
    @Test(arguments: awkward)
    func foundationMatchesFoundation(_ s: String) throws {
        let serialized = try JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
        #expect("[" + Self.written(s, .foundation) + "]" == String(decoding: serialized, as: UTF8.self))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        #expect(Self.written(s, .foundation) == String(decoding: try encoder.encode(s), as: UTF8.self))
    }

    @Test(arguments: awkward)
    func everyOptionReadsBack(_ s: String) {
        for options: JSONWriter.Options in [[], .wire, .foundation, [.wire, .foundation]] {
            var json = JSONWriter(options: options)
            json.string(s)
            #expect(!json.bytes.contains(0x0A), "a string never breaks the line")
            #expect(JSONParser.parse(json.bytes) == .string(s))
        }
    }

    /// Long strings go out in 4 KiB chunks: runs longer than the scratch, escapes that straddle its end, and a
    /// line separator at the very end, all exactly as written whole.
    @Test func chunkedEscapeIsTheSameText() {
        let cases = [
            String(repeating: "\u{1}", count: 5_000),
            String(repeating: "a", count: 10_000) + "\"" + String(repeating: "b", count: 4_095) + "\n",
            String(repeating: "x\u{2028}", count: 3_000) + "\u{2029}",
            String(repeating: "é", count: 2_047) + "\\" + String(repeating: "\t", count: 2_049),
        ]
        for s in cases {
            var chunks = 0
            var streamed: [UInt8] = [0x22]
            JSONWriter.escape(s, options: .wire) { chunk in
                chunks += 1
                #expect(chunk.count <= 4_096 || !chunk.contains(0x5C), "only a plain run goes out larger")
                streamed += chunk
            }
            streamed.append(0x22)
            #expect(streamed == Array(Self.written(s, .wire).utf8))
            #expect(chunks > 1)
            #expect(JSONParser.parse(streamed) == .string(s))
        }
        var plain = 0
        JSONWriter.escape("nothing to escape", options: .wire) { _ in plain += 1 }
        #expect(plain == 1)
    }

    @Test func containersTakeCommasWhereTheyBelong() {
        var json = JSONWriter(options: .wire)
        json.beginObject()
        json.member("a", 1)
        json.key("b")
        json.beginArray()
        json.beginObject()
        json.endObject()
        json.beginArray()
        json.endArray()
        json.string("s")
        json.int(Int64.min)
        json.bool(false)
        json.null()
        json.endArray()
        json.memberIfPresent("absent", nil as String?)
        json.memberIfPresent("n", 0 as Int?)
        json.member("list", ["x", "y"])
        json.key("raw")
        json.raw(Array(#"{"k":true}"#.utf8))
        json.member("v", .object(["z": .double(1.5), "y": .int(-2), "x": .array([.null, .bool(true)])]))
        json.endObject()
        #expect(
            json.text
                == #"{"a":1,"b":[{},[],"s",-9223372036854775808,false,null],"n":0,"list":["x","y"],"raw":{"k":true},"#
                + #""v":{"x":[null,true],"y":-2,"z":1.5}}"#
        )
    }

    /// `.prettyPrinted` is `JSONSerialization`'s `.prettyPrinted` layout, empty containers included.
    @Test func prettyPrintedMatchesJSONSerialization() throws {
        let object: [String: Any] = [
            "audit_public_key": "ab01", "empty_list": [Any](), "empty_object": [String: Any](),
            "keks": [["created": "2026-01-01T00:00:00Z", "data_keys": 3, "state": "active", "version": 1]],
            "nested": [[[Any]](), [1, 2]],
        ]
        let expected = try JSONSerialization.data(
            withJSONObject: object,
            options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        )
        var json = JSONWriter(options: [.foundation, .prettyPrinted])
        json.beginObject()
        json.member("audit_public_key", "ab01")
        json.key("empty_list")
        json.beginArray()
        json.endArray()
        json.key("empty_object")
        json.beginObject()
        json.endObject()
        json.key("keks")
        json.beginArray()
        json.beginObject()
        json.member("created", "2026-01-01T00:00:00Z")
        json.member("data_keys", 3)
        json.member("state", "active")
        json.member("version", 1)
        json.endObject()
        json.endArray()
        json.member("nested", .array([.array([]), .array([.int(1), .int(2)])]))
        json.endObject()
        #expect(json.text == String(decoding: expected, as: UTF8.self))
    }

    @Test func valueDescriptionIsCompactAndSorted() {
        let value = JSONValue.object(["b": .string("\u{2028}"), "a": .array([.int(1), .double(.infinity)])])
        #expect(value.description == #"{"a":[1,null],"b":"\u2028"}"#)
    }
}
