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

/// A JSON-RPC id: a string, an integer or null, echoed exactly.
enum RequestID: Sendable, Equatable {
    case string(String)
    case number(Int64)
    case null

    static let maxSafe: Int64 = 9_007_199_254_740_991

    init?(_ value: JSONValue) {
        switch value {
        case .string(let s): self = .string(s)
        // A range test, not `abs(i) <= maxSafe`: `abs(Int64.min)` does not fit and traps, and any integer the
        // parser produces (Int64.min included) may arrive as an id.
        case .int(let i) where -Self.maxSafe...Self.maxSafe ~= i: self = .number(i)
        case .null: self = .null
        default: return nil
        }
    }
}
