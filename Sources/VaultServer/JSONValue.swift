import Foundation
import VaultJSON

/// Request lines are read with VaultJSON's strict parser, nested at most this deep (docs/PROTOCOL.md: a
/// line that is not one JSON text is a parse error).
enum RequestJSON {
    static let maxDepth = 32

    /// The one JSON value of a line, or nil for anything that is not exactly one JSON text in UTF-8.
    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        JSONParser.parse(bytes, maxDepth: maxDepth)
    }
}

/// Writes compact JSON. Only strings need care: every one goes through `quote`.
enum JSONText {
    static func quote(_ s: String) -> String {
        // Fast path: most strings (tokens, values, names) need no escape at all. 0xE2 starts U+2028/U+2029,
        // which the slow path escapes; any string holding it takes that path.
        if !s.utf8.contains(where: { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 || $0 == 0xE2 }) { return "\"" + s + "\"" }
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
