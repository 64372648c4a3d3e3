extension AuditEvent {
    /// The record's canonical JSON: members sorted by name, no whitespace, slashes unescaped, optional members
    /// left out when nil. Byte for byte what `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]`
    /// writes (AuditEventJSONTests holds the two side by side), but written directly: every request appends
    /// an audit record, and going through `Encodable` cost more than a tenth of the server's CPU time.
    func canonicalJSON() -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256 + (items?.count ?? 0) * 64)
        var first = true
        func key(_ name: StaticString) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            out.append(UInt8(ascii: "\""))
            name.withUTF8Buffer { out += $0 }
            out += "\":".utf8
        }
        func strings(_ list: [String]) {
            out.append(UInt8(ascii: "["))
            for (i, s) in list.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.quote(s, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        // Alphabetical order of the member names.
        key("at")
        Self.quote(at, into: &out)
        if let count {
            key("count")
            out += String(count).utf8
        }
        if let detail {
            key("detail")
            Self.quote(detail, into: &out)
        }
        key("event")
        Self.quote(event.rawValue, into: &out)
        if let identity {
            key("identity")
            Self.quote(identity, into: &out)
        }
        if let items {
            key("items")
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out += "{\"decision\":".utf8
                Self.quote(item.decision.rawValue, into: &out)
                if let kind = item.kind {
                    out += ",\"kind\":".utf8
                    Self.quote(kind, into: &out)
                }
                out += ",\"token\":".utf8
                Self.quote(item.token, into: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        if let kind {
            key("kind")
            Self.quote(kind, into: &out)
        }
        if let mode {
            key("mode")
            Self.quote(mode, into: &out)
        }
        key("outcome")
        Self.quote(outcome.rawValue, into: &out)
        if let purpose {
            key("purpose")
            Self.quote(purpose, into: &out)
        }
        if let reason {
            key("reason")
            Self.quote(reason, into: &out)
        }
        if let roles {
            key("roles")
            strings(roles)
        }
        key("seq")
        out += String(seq).utf8
        if let subjects {
            key("subjects")
            strings(subjects)
        }
        if let uid {
            key("uid")
            out += String(uid).utf8
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string as JSONEncoder writes it: `"` and `\` escaped, \b \f \n \r \t by name, other control
    /// characters as \u00xx (lowercase hex), everything else (including `/` and non-ASCII) as is.
    static func quote(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\"".utf8
            case UInt8(ascii: "\\"): out += "\\\\".utf8
            case 0x08: out += "\\b".utf8
            case 0x0C: out += "\\f".utf8
            case 0x0A: out += "\\n".utf8
            case 0x0D: out += "\\r".utf8
            case 0x09: out += "\\t".utf8
            case 0..<0x20:
                out += "\\u00".utf8
                out.append(hex(byte >> 4))
                out.append(hex(byte & 0xF))
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func hex(_ n: UInt8) -> UInt8 { n < 10 ? 0x30 + n : 0x57 + n }
}
