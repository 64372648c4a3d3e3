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

/// Writes compact JSON. Only strings need care: every one goes through `escape`, the one home of the
/// server's escaping rules (used by `quote` for small strings and by `ResponseBuffer` for answers).
enum JSONText {
    static func quote(_ s: String) -> String {
        // Fast path: most strings (tokens, values, names) need no escape at all.
        if !needsEscape(s) { return "\"" + s + "\"" }
        var out: [UInt8] = [0x22]
        out.reserveCapacity(s.utf8.count + 2)
        escape(s) { out.append(contentsOf: $0) }
        out.append(0x22)
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `s` holds a byte `escape` rewrites. 0xE2 starts U+2028/U+2029, which are escaped; any string
    /// holding it takes the slow path.
    static func needsEscape(_ s: String) -> Bool {
        s.utf8.contains { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 || $0 == 0xE2 }
    }

    /// Hands `emit` the string's JSON form without its quotes, in chunks: `"` and `\` escaped, `\n` `\r`
    /// `\t` by name, other control characters and U+2028/U+2029 (line breaks to JavaScript) as `\u00XX`.
    /// Output gathers in a 4 KiB scratch buffer, so a string of escapes costs one `emit` per 4 KiB, not
    /// one per character.
    static func escape(_ s: String, _ emit: (UnsafeRawBufferPointer) -> Void) {
        var copy = s
        copy.withUTF8 { utf8 in
            // Fast path, the usual case (tokens, most values, names): nothing to escape, one emit, no scratch.
            guard utf8.contains(where: { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 || $0 == 0xE2 }) else {
                emit(UnsafeRawBufferPointer(utf8))
                return
            }
            var pending: [UInt8] = []
            pending.reserveCapacity(scratch + 8)
            var runStart = 0
            var i = 0
            func run(to end: Int) {
                guard end > runStart else { return }
                let bytes = UnsafeBufferPointer(rebasing: utf8[runStart..<end])
                if pending.count + bytes.count <= scratch {
                    pending.append(contentsOf: bytes)
                } else {
                    flush()
                    emit(UnsafeRawBufferPointer(bytes))
                }
            }
            func flush() {
                guard !pending.isEmpty else { return }
                pending.withUnsafeBytes(emit)
                pending.removeAll(keepingCapacity: true)
            }
            func put(_ escaped: UInt8...) {
                pending.append(contentsOf: escaped)
                if pending.count >= scratch { flush() }
            }
            while i < utf8.count {
                let b = utf8[i]
                var width = 1
                switch b {
                case 0x22:
                    run(to: i)
                    put(0x5C, 0x22)
                case 0x5C:
                    run(to: i)
                    put(0x5C, 0x5C)
                case 0x0A:
                    run(to: i)
                    put(0x5C, 0x6E)
                case 0x0D:
                    run(to: i)
                    put(0x5C, 0x72)
                case 0x09:
                    run(to: i)
                    put(0x5C, 0x74)
                case 0..<0x20:
                    run(to: i)
                    put(0x5C, 0x75, 0x30, 0x30, hexDigit(b >> 4), hexDigit(b & 0xF))
                case 0xE2
                where i + 2 < utf8.count && utf8[i + 1] == 0x80 && (utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9):
                    run(to: i)
                    put(0x5C, 0x75, 0x32, 0x30, 0x32, utf8[i + 2] == 0xA8 ? 0x38 : 0x39)
                    width = 3
                default:
                    i += 1
                    continue
                }
                i += width
                runStart = i
            }
            run(to: utf8.count)
            flush()
        }
    }

    private static let scratch = 4096

    private static func hexDigit(_ n: UInt8) -> UInt8 { n < 10 ? 0x30 + n : 0x57 + n }

    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
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

    var json: String {
        switch self {
        case .string(let s): return JSONText.quote(s)
        case .number(let n): return String(n)
        case .null: return "null"
        }
    }
}
