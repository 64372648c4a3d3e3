/// A small strict JSON parser (RFC 8259), used on both ends of the socket (request lines in the server,
/// response lines in the client): exactly one value, optional surrounding whitespace, nothing after it.
///
/// Refused: invalid UTF-8 anywhere, a byte-order mark, raw control characters in strings, unpaired
/// surrogate escapes (`"\ud800"`), leading zeros, `NaN`/`Infinity`, trailing commas, and nesting deeper than
/// `maxDepth` (so a line of a million `[` costs a linear scan, never deep recursion). A number is `.int`
/// only when written as an integer (no fraction, no exponent) that fits in `Int64`; otherwise `.double`.
/// A duplicate member name keeps the last value (docs/PROTOCOL.md §3.1 allows it).
///
/// Hand-written rather than Foundation's `JSONDecoder`: decoding an untyped value through `Decodable` tries
/// each type in turn and throws on every miss, which cost the server more than any other step of a request.
/// This parser makes one pass over the bytes.
public struct JSONParser {
    public static let defaultMaxDepth = 64

    struct Failure: Error {}

    private let bytes: UnsafeRawBufferPointer
    private let maxDepth: Int
    private var index = 0
    private var depth = 0

    private init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Parses exactly one JSON text; nil if the bytes are not one.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) -> JSONValue? {
        var parser = JSONParser(bytes, maxDepth: maxDepth)
        do {
            parser.skipWhitespace()
            let value = try parser.value()
            parser.skipWhitespace()
            return parser.index == bytes.count ? value : nil
        } catch {
            return nil
        }
    }

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) -> JSONValue? {
        bytes.withUnsafeBytes { parse($0, maxDepth: maxDepth) }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func peek() throws(Failure) -> UInt8 {
        guard index < bytes.count else { throw Failure() }
        return bytes[index]
    }

    private mutating func expect(_ literal: StaticString) throws(Failure) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Failure() }
        let start = literal.utf8Start
        for i in 0..<count where bytes[index + i] != start[i] { throw Failure() }
        index += count
    }

    private mutating func value() throws(Failure) -> JSONValue {
        switch try peek() {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        default: return try number()
        }
    }

    private mutating func enter() throws(Failure) {
        depth += 1
        guard depth <= maxDepth else { throw Failure() }
        index += 1
        skipWhitespace()
    }

    private mutating func object() throws(Failure) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        var members: [String: JSONValue] = [:]
        if try peek() == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            guard try peek() == UInt8(ascii: "\"") else { throw Failure() }
            let key = try string()
            skipWhitespace()
            guard try peek() == UInt8(ascii: ":") else { throw Failure() }
            index += 1
            skipWhitespace()
            members[key] = try value()
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                index += 1
                return .object(members)
            default: throw Failure()
            }
        }
    }

    private mutating func array() throws(Failure) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        var items: [JSONValue] = []
        if try peek() == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            items.append(try value())
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                index += 1
                return .array(items)
            default: throw Failure()
            }
        }
    }

    private mutating func string() throws(Failure) -> String {
        index += 1  // the opening quote
        let start = index
        // Fast path: no escapes. Validation of the UTF-8 happens in `String(validating:)`.
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let s = try Self.text(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
                index += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw Failure() }
            index += 1
        }
        var out = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while true {
            let b = try peek()
            index += 1
            switch b {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else { throw Failure() }
                return s
            case UInt8(ascii: "\\"):
                try escape(into: &out)
            case 0..<0x20:
                throw Failure()
            default:
                out.append(b)
            }
        }
    }

    private static func text(_ raw: UnsafeRawBufferPointer) throws(Failure) -> String {
        guard let s = String(validating: raw.bindMemory(to: UInt8.self), as: UTF8.self) else { throw Failure() }
        return s
    }

    private mutating func escape(into out: inout [UInt8]) throws(Failure) {
        let e = try peek()
        index += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low one.
                try expect("\\u")
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw Failure() }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw Failure()
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw Failure() }
            UTF8.encode(unicode) { out.append($0) }
        default:
            throw Failure()
        }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw Failure() }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            index += 1
            let digit: UInt8
            switch b {
            case 0x30...0x39: digit = b - 0x30
            case 0x41...0x46: digit = b - 0x37
            case 0x61...0x66: digit = b - 0x57
            default: throw Failure()
            }
            v = v << 4 | UInt32(digit)
        }
        return v
    }

    private mutating func number() throws(Failure) -> JSONValue {
        let start = index
        if try peek() == UInt8(ascii: "-") { index += 1 }
        let intStart = index
        try digits()
        // No leading zeros ("01"), as RFC 8259 says.
        if bytes[intStart] == 0x30 && index - intStart > 1 { throw Failure() }
        var integral = true
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            try digits()
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            integral = false
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                index += 1
            }
            try digits()
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if integral, let i = Int64(text) { return .int(i) }
        guard let d = Double(text) else { throw Failure() }
        return .double(d)
    }

    private mutating func digits() throws(Failure) {
        let start = index
        while index < bytes.count && (0x30...0x39).contains(bytes[index]) { index += 1 }
        guard index > start else { throw Failure() }
    }
}
