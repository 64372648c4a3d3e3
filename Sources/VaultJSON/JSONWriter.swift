/// cvault's one JSON writer: the server's answers, the client's requests, the audit log's records and the
/// CLI's `--json` output all go through it, so there is one set of escaping rules to read and to test.
///
/// A writer appends compact JSON to one byte array as it goes: no tree is built, and no Foundation is
/// involved (going through `Encodable` cost the server more than a tenth of its CPU time). Containers are
/// opened and closed by the caller, members written in the caller's order; the writer puts the commas in.
/// A `JSONValue` is written with its object members sorted by name.
///
/// Where the bytes must go somewhere else (the server's capped `ByteBuffer`), `escape(_:options:_:)` hands
/// out a string's escaped form in chunks: the same rules, one routine.
public struct JSONWriter: Sendable {
    /// How strings are escaped and whether the text is laid out for people. Every writer escapes `"`, `\`
    /// and the control characters U+0000 to U+001F (`\n`, `\r` and `\t` by name, the others as `\u00xx` in
    /// lower-case hex) and writes everything else as UTF-8, `/` included.
    public struct Options: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// U+2028 and U+2029 as `\u2028` and `\u2029`: line terminators to JavaScript, so a line pasted
        /// into a script stays one line.
        public static let escapeLineSeparators = Options(rawValue: 1 << 0)
        /// Backspace and form feed as `\b` and `\f`, as Foundation writes them, instead of `\u0008` and
        /// `\u000c`.
        public static let namedBackspaceAndFormFeed = Options(rawValue: 1 << 1)
        /// Each member and element on its own line, indented two spaces a level, `" : "` after a member's
        /// name, and an empty container as `[`, a blank line, `]`: the layout of Foundation's
        /// `JSONSerialization` with `.prettyPrinted`, for output people read.
        public static let prettyPrinted = Options(rawValue: 1 << 2)

        /// The socket, in both directions (docs/PROTOCOL.md §1): what the server has always answered.
        public static let wire: Options = [.escapeLineSeparators]
        /// Strings byte for byte as Foundation's `JSONEncoder` and `JSONSerialization` write them with
        /// `.withoutEscapingSlashes` (members in name order are the caller's part of `.sortedKeys`): the audit
        /// log's canonical form from its first record on (records are hash-chained and signed, so those bytes
        /// can never change) and the CLI's `--json` output.
        public static let foundation: Options = [.namedBackspaceAndFormFeed]
    }

    /// The text so far. A caller may append a line end once the value is complete.
    public var bytes: [UInt8]
    public let options: Options
    /// Whether the next member or element needs a comma before it.
    private var separate = false
    /// Whether a member's name was just written, so its value follows with no comma or line break.
    private var afterKey = false
    /// How many containers are open (for `.prettyPrinted`).
    private var depth = 0

    public init(options: Options, capacity: Int = 64) {
        self.options = options
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// The text so far as a `String`.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    // MARK: Containers

    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// A member's name, inside an object; its value comes next.
    public mutating func key(_ name: String) {
        startValue()
        quote(name)
        if options.contains(.prettyPrinted) {
            bytes += " : ".utf8
        } else {
            bytes.append(UInt8(ascii: ":"))
        }
        afterKey = true
    }

    // MARK: Values

    public mutating func string(_ s: String) {
        startValue()
        quote(s)
        separate = true
    }

    public mutating func int(_ n: Int64) {
        startValue()
        bytes += String(n).utf8
        separate = true
    }

    public mutating func int(_ n: Int) { int(Int64(n)) }

    public mutating func bool(_ b: Bool) {
        startValue()
        bytes += (b ? "true" : "false").utf8
        separate = true
    }

    public mutating func null() {
        startValue()
        bytes += "null".utf8
        separate = true
    }

    /// An array of strings, its room reserved at once (a batch of values can be large).
    public mutating func strings(_ list: [String]) {
        bytes.reserveCapacity(bytes.count + list.reduce(2) { $0 &+ $1.utf8.count &+ 3 })
        beginArray()
        for s in list { string(s) }
        endArray()
    }

    /// Any parsed value; object members sorted by name, so the text is stable. A fraction is written as
    /// Swift prints a `Double`, and a non-finite one (which no parser produces) as `null`.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .double(let d):
            startValue()
            bytes += (d.isFinite ? "\(d)" : "null").utf8
            separate = true
        case .string(let s): string(s)
        case .array(let items):
            beginArray()
            for item in items { self.value(item) }
            endArray()
        case .object(let members):
            beginObject()
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                key(name)
                self.value(member)
            }
            endObject()
        }
    }

    /// JSON text written elsewhere (by another writer with the same options), taken as one value.
    public mutating func raw(_ json: [UInt8]) {
        startValue()
        bytes += json
        separate = true
    }

    // MARK: Members

    public mutating func member(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    public mutating func member(_ name: String, _ value: Int64) {
        key(name)
        int(value)
    }

    public mutating func member(_ name: String, _ value: Int) {
        key(name)
        int(Int64(value))
    }

    public mutating func member(_ name: String, _ value: [String]) {
        key(name)
        strings(value)
    }

    public mutating func member(_ name: String, _ value: JSONValue) {
        key(name)
        self.value(value)
    }

    /// A member that is left out when `value` is nil (as `Encodable`'s `encodeIfPresent` does).
    public mutating func memberIfPresent(_ name: String, _ value: String?) {
        if let value { member(name, value) }
    }

    public mutating func memberIfPresent(_ name: String, _ value: Int64?) {
        if let value { member(name, value) }
    }

    public mutating func memberIfPresent(_ name: String, _ value: Int?) {
        if let value { member(name, Int64(value)) }
    }

    public mutating func memberIfPresent(_ name: String, _ value: [String]?) {
        if let value { member(name, value) }
    }

    // MARK: Layout

    /// Before any value or member name: the comma after the previous one, and with `.prettyPrinted` its line
    /// and indent. Nothing right after a member's name.
    private mutating func startValue() {
        if afterKey {
            afterKey = false
            return
        }
        if separate {
            bytes.append(UInt8(ascii: ","))
            if options.contains(.prettyPrinted) { bytes.append(UInt8(ascii: "\n")) }
        }
        if options.contains(.prettyPrinted) { indent() }
    }

    private mutating func open(_ bracket: UInt8) {
        startValue()
        bytes.append(bracket)
        depth += 1
        separate = false
        if options.contains(.prettyPrinted) { bytes.append(UInt8(ascii: "\n")) }
    }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        if options.contains(.prettyPrinted) {
            // Also after an empty container's opening line: Foundation leaves a blank line there.
            bytes.append(UInt8(ascii: "\n"))
            indent()
        }
        bytes.append(bracket)
        separate = true
    }

    private mutating func indent() {
        bytes += repeatElement(UInt8(ascii: " "), count: 2 * depth)
    }

    // MARK: Strings

    private mutating func quote(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        Self.escape(s, options: options) { chunk in
            bytes.append(contentsOf: chunk.assumingMemoryBound(to: UInt8.self))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Hands `emit` the JSON form of `s` without its quotes, in chunks. A string with nothing to escape (the
    /// usual case: tokens, most values, names) is one `emit` of its own bytes; otherwise the output gathers
    /// in a 4 KiB scratch buffer, so a string of escapes costs one `emit` per 4 KiB, not one per character.
    public static func escape(_ s: String, options: Options, _ emit: (UnsafeRawBufferPointer) -> Void) {
        // The lead byte of U+2028 and U+2029; a byte that is escaped anyway stands in when they are not.
        let lineSeparatorLead: UInt8 = options.contains(.escapeLineSeparators) ? 0xE2 : 0x22
        let named = options.contains(.namedBackspaceAndFormFeed)
        var copy = s
        copy.withUTF8 { utf8 in
            guard utf8.contains(where: { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 || $0 == lineSeparatorLead }) else {
                emit(UnsafeRawBufferPointer(utf8))
                return
            }
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: scratchSize) { scratch in
                var pending = 0
                func flush() {
                    guard pending > 0 else { return }
                    emit(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: scratch[..<pending])))
                    pending = 0
                }
                func run(_ start: Int, _ end: Int) {
                    guard end > start else { return }
                    let bytes = UnsafeBufferPointer(rebasing: utf8[start..<end])
                    if bytes.count > scratchSize - pending {
                        flush()
                        if bytes.count > scratchSize {
                            emit(UnsafeRawBufferPointer(bytes))
                            return
                        }
                    }
                    _ = UnsafeMutableBufferPointer(rebasing: scratch[pending...]).initialize(fromContentsOf: bytes)
                    pending += bytes.count
                }
                /// `\` and `second`.
                func short(_ second: UInt8) {
                    if pending > scratchSize - 2 { flush() }
                    scratch[pending] = 0x5C
                    scratch[pending + 1] = second
                    pending += 2
                }
                /// `\u` and four hex digits.
                func unicode(_ scalar: UInt16) {
                    if pending > scratchSize - 6 { flush() }
                    scratch[pending] = 0x5C
                    scratch[pending + 1] = UInt8(ascii: "u")
                    for k in 0..<4 {
                        scratch[pending + 2 + k] = hexDigit(UInt8(truncatingIfNeeded: scalar >> (12 - 4 * k)))
                    }
                    pending += 6
                }
                var runStart = 0
                var i = 0
                while i < utf8.count {
                    let b = utf8[i]
                    if b >= 0x20, b != 0x22, b != 0x5C, b != lineSeparatorLead {
                        i += 1
                        continue
                    }
                    if let letter = shortEscape(b, named: named) {
                        run(runStart, i)
                        short(letter)
                        i += 1
                    } else if b < 0x20 {
                        run(runStart, i)
                        unicode(UInt16(b))
                        i += 1
                    } else if b == lineSeparatorLead, i + 2 < utf8.count, utf8[i + 1] == 0x80,
                        utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9
                    {
                        run(runStart, i)
                        unicode(utf8[i + 2] == 0xA8 ? 0x2028 : 0x2029)
                        i += 3
                    } else {
                        // 0xE2 starting another character.
                        i += 1
                        continue
                    }
                    runStart = i
                }
                run(runStart, utf8.count)
                flush()
            }
        }
    }

    private static let scratchSize = 4096

    /// The letter after `\` for the characters JSON escapes by name.
    private static func shortEscape(_ b: UInt8, named: Bool) -> UInt8? {
        switch b {
        case 0x22: 0x22
        case 0x5C: 0x5C
        case 0x0A: UInt8(ascii: "n")
        case 0x0D: UInt8(ascii: "r")
        case 0x09: UInt8(ascii: "t")
        case 0x08 where named: UInt8(ascii: "b")
        case 0x0C where named: UInt8(ascii: "f")
        default: nil
        }
    }

    private static func hexDigit(_ n: UInt8) -> UInt8 {
        let nibble = n & 0xF
        return nibble < 10 ? 0x30 + nibble : 0x57 + nibble
    }
}
