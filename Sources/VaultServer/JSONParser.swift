/// A strict RFC 8259 parser for one request line (docs/PROTOCOL.md §1, §3).
///
/// Written out rather than taken from `JSONDecoder` because the protocol needs what a decoder hides:
/// whether a number was written as an integer (`1`) or not (`1.0`, `1e3`: an invalid `id`), numbers out of
/// every range (`1e999` is JSON, so it must reach the request checks, not be a parse error), a byte-order
/// mark refused, duplicate member names refused, and a hard depth limit enforced while parsing, so a line
/// of 100,000 `[` costs one bounded scan and never deep recursion.
struct JSONParser {
    /// The deepest nesting accepted (arrays and objects).
    static let maxDepth = 32

    private let bytes: UnsafeBufferPointer<UInt8>
    private var pos = 0

    private struct Failure: Error {}

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The single JSON value of `line` (surrounding JSON white space allowed), or nil if the line is not
    /// exactly one JSON text in valid UTF-8.
    static func parse(_ line: [UInt8]) -> JSONValue? {
        line.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer)
            do {
                parser.skipWhitespace()
                let value = try parser.value(depth: 0)
                parser.skipWhitespace()
                return parser.pos == buffer.count ? value : nil
            } catch {
                return nil
            }
        }
    }

    private var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    private mutating func skipWhitespace() {
        while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x09 || bytes[pos] == 0x0A || bytes[pos] == 0x0D {
            pos += 1
        }
    }

    private mutating func expect(_ byte: UInt8) throws(Failure) {
        guard peek == byte else { throw Failure() }
        pos += 1
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard let b = peek else { throw Failure() }
        switch b {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw Failure()
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - pos >= count else { throw Failure() }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
        for i in 0..<count where bytes[pos + i] != expected[i] { throw Failure() }
        pos += count
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        guard depth <= Self.maxDepth else { throw Failure() }
        pos += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if peek == UInt8(ascii: "}") { pos += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw Failure() }
            let key = try string()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            let member = try value(depth: depth)
            // A repeated member name is refused (§3.1 allows -32700 or keep-last): two parsers that pick
            // different copies are how requests get smuggled past checks.
            guard members.updateValue(member, forKey: key) == nil else { throw Failure() }
            skipWhitespace()
            guard let b = peek else { throw Failure() }
            pos += 1
            if b == UInt8(ascii: "}") { return .object(members) }
            guard b == UInt8(ascii: ",") else { throw Failure() }
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> JSONValue {
        guard depth <= Self.maxDepth else { throw Failure() }
        pos += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") { pos += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try value(depth: depth))
            skipWhitespace()
            guard let b = peek else { throw Failure() }
            pos += 1
            if b == UInt8(ascii: "]") { return .array(items) }
            guard b == UInt8(ascii: ",") else { throw Failure() }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`. Written as an integer and fitting Int64: `.int`;
    /// anything else: `.double` (possibly infinite, e.g. `1e999` or a 400-digit integer).
    private mutating func number() throws(Failure) -> JSONValue {
        let start = pos
        var integral = true
        if peek == UInt8(ascii: "-") { pos += 1 }
        guard let first = peek, isDigit(first) else { throw Failure() }
        pos += 1
        if first != UInt8(ascii: "0") { while let b = peek, isDigit(b) { pos += 1 } }
        if peek == UInt8(ascii: ".") {
            integral = false
            pos += 1
            guard let b = peek, isDigit(b) else { throw Failure() }
            while let b = peek, isDigit(b) { pos += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            integral = false
            pos += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { pos += 1 }
            guard let b = peek, isDigit(b) else { throw Failure() }
            while let b = peek, isDigit(b) { pos += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        if integral, let i = Int64(text) { return .int(i) }
        guard let d = Double(text) else { throw Failure() }
        return .double(d)
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    /// A string: raw bytes must be valid UTF-8 and no control character; escapes as RFC 8259, with
    /// surrogate escapes only in valid pairs.
    private mutating func string() throws(Failure) -> String {
        pos += 1
        var out: [UInt8] = []
        while true {
            guard let b = peek else { throw Failure() }
            switch b {
            case UInt8(ascii: "\""):
                pos += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                pos += 1
                guard let e = peek else { throw Failure() }
                pos += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        try expect(UInt8(ascii: "\\"))
                        try expect(UInt8(ascii: "u"))
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw Failure() }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw Failure()
                    }
                    guard let s = Unicode.Scalar(scalar) else { throw Failure() }
                    out.append(contentsOf: String(s).utf8)
                default:
                    throw Failure()
                }
            case 0x00..<0x20:
                throw Failure()
            case 0x00..<0x80:
                out.append(b)
                pos += 1
            default:
                let length = try utf8SequenceLength()
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[pos..<pos + length]))
                pos += length
            }
        }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard bytes.count - pos >= 4 else { throw Failure() }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[pos]
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw Failure()
            }
            v = v << 4 | UInt32(d)
            pos += 1
        }
        return v
    }

    /// Length of the well-formed UTF-8 sequence at `pos` (Unicode Table 3-7: no overlong forms, no
    /// surrogates, nothing above U+10FFFF), or a failure.
    private func utf8SequenceLength() throws(Failure) -> Int {
        let b0 = bytes[pos]
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw Failure()
        }
        guard bytes.count - pos >= length else { throw Failure() }
        let b1 = bytes[pos + 1]
        guard b1 >= low && b1 <= high else { throw Failure() }
        for i in 2..<length where !(0x80...0xBF).contains(bytes[pos + i]) { throw Failure() }
        return length
    }
}
