/// Request-derived text made safe for a log line: a method name (or anything else a client chose) can
/// hold a newline, which would start a forged log line, or terminal escape sequences.
///
/// Every byte outside printable ASCII that could act as a control is written as an escape: `\n`, `\r`,
/// `\t`, `\\`, and `\u{XX}` for other C0 controls, DEL, C1 controls (U+0080–U+009F, which terminals also
/// obey), the Unicode line and paragraph separators and the bidirectional controls (which reorder what a
/// reader sees). Other characters pass unchanged. The result is cut
/// to `limit` characters so a log line stays short.
enum LogText {
    static func escape<S: StringProtocol>(_ text: S, limit: Int = 64) -> String {
        var out = ""
        var written = 0
        for scalar in text.unicodeScalars {
            guard written < limit else {
                out += "…"
                break
            }
            written += 1
            switch scalar.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x5C: out += "\\\\"
            case 0..<0x20, 0x7F...0x9F, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069:
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
