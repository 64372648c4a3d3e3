/// A parsed JSON value with exact types: a boolean is never a number, and an integer is kept apart from a
/// fraction (JSON-RPC ids must be integers or strings). The server reads requests into it; the client reads
/// the parts of responses it does not model (an error's `data`).
public enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var intValue: Int64? { if case .int(let i) = self { return i } else { return nil } }

    /// Compact JSON text as the wire writes it (object members sorted, so the text is stable).
    public var description: String {
        var json = JSONWriter(options: .wire)
        json.value(self)
        return json.text
    }
}
