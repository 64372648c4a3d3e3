import Foundation

/// A parsed JSON value with exact types: a boolean is never a number, an integer is kept apart from a
/// fraction (JSON-RPC ids must be integers or strings).
enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null; return }
        if let b = try? container.decode(Bool.self) { self = .bool(b); return }
        if let i = try? container.decode(Int64.self) { self = .int(i); return }
        if let d = try? container.decode(Double.self) { self = .double(d); return }
        if let s = try? container.decode(String.self) { self = .string(s); return }
        if let a = try? container.decode([JSONValue].self) { self = .array(a); return }
        self = .object(try container.decode([String: JSONValue].self))
    }

    /// The deepest nesting cvault accepts. Checked on the raw bytes before parsing, so a line of a million
    /// `[` costs one linear scan and never deep recursion.
    static let maxDepth = 32

    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        guard nestingDepth(bytes) <= maxDepth else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// Maximum bracket depth outside strings.
    static func nestingDepth(_ bytes: [UInt8]) -> Int {
        var depth = 0, deepest = 0, inString = false, escaped = false
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
                continue
            }
            switch b {
            case 0x22: inString = true
            case 0x5B, 0x7B: depth += 1; deepest = max(deepest, depth)
            case 0x5D, 0x7D: depth -= 1
            default: break
            }
        }
        return deepest
    }
}

/// Writes compact JSON. Only strings need care: every one goes through `quote`.
enum JSONText {
    static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }

    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}

/// A JSON-RPC id: a string, an integer or null, echoed exactly.
enum RequestID: Sendable, Equatable {
    case string(String), number(Int64), null

    static let maxSafe: Int64 = 9_007_199_254_740_991

    init?(_ value: JSONValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .int(let i) where abs(i) <= Self.maxSafe: self = .number(i)
        case .null: self = .null
        default: return nil
        }
    }

    var json: String {
        switch self {
        case .string(let s): return JSONText.quote(s)
        case .number(let n): return String(n)
        case .null: return "null"
        }
    }
}
