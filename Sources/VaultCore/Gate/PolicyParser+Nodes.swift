import Yams

/// Typed readers over Yams nodes. Each reports a problem at the node's own line and column when the node is
/// not what the format wants, and returns nil so the walk goes on and finds the file's other problems.
///
/// The readers are stricter than Yams' own constructors on purpose: YAML 1.1 reads `yes`, `on`, `0x10`,
/// `0755` (octal) and `1:00` (sexagesimal) as booleans and numbers, and in a file that grants access to
/// customer data a value should mean what it plainly says. So a boolean is `true` or `false`, an integer is
/// unquoted decimal digits, and `null` or an empty value is never taken for an empty list.
extension PolicyParser {
    /// A mapping key with its value, as found in the file.
    struct Field {
        let key: Yams.Node
        let value: Yams.Node
    }

    /// A key chosen by the file's author (a kind, a role name) with its value.
    struct Entry {
        let name: String
        let key: Yams.Node
        let value: Yams.Node
    }

    mutating func mapping(_ node: Yams.Node, _ what: String) -> Yams.Node.Mapping? {
        if case .mapping(let mapping) = node { return mapping }
        let hint = Self.isNull(node) ? " (write {} for none)" : ""
        report(node, "\(what) must be a mapping of key: value, found \(Self.describe(node))\(hint)")
        return nil
    }

    /// The list's items, or nil after a problem. Counts each item against the walk's budget.
    mutating func sequence(_ node: Yams.Node, _ what: String, of items: String) -> [Yams.Node]? {
        guard case .sequence(let sequence) = node else {
            let hint = Self.isNull(node) ? " (write [] for none)" : ""
            report(node, "\(what) must be a list of \(items), found \(Self.describe(node))\(hint)")
            return nil
        }
        return sequence.filter { spend($0) }
    }

    /// A scalar's text, whatever its quoting. A plain `null` or empty value is not a name.
    mutating func string(_ node: Yams.Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node, !Self.isNull(node) else {
            report(node, "\(what) must be a name, found \(Self.describe(node))")
            return nil
        }
        return scalar.string
    }

    /// An unquoted decimal integer in `range`. Leading zeros are refused, because YAML 1.1 reads them as
    /// octal and the author rarely means that.
    mutating func integer(_ node: Yams.Node, _ what: String, in range: ClosedRange<Int>) -> Int? {
        let problem = "\(what) must be an integer from \(range.lowerBound) to \(range.upperBound)"
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else {
            report(node, "\(problem), found \(Self.describe(node))")
            return nil
        }
        let text = scalar.string
        let isDecimal =
            !text.isEmpty && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            && (text == "0" || !text.hasPrefix("0"))
        guard isDecimal, let value = Int(text), range.contains(value) else {
            report(node, "\(problem), found \(Self.describe(node))")
            return nil
        }
        return value
    }

    /// `true` or `false`, unquoted (any case, as YAML 1.2 allows), and nothing else.
    mutating func bool(_ node: Yams.Node, _ what: String) -> Bool? {
        if case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any {
            switch scalar.string.lowercased() {
            case "true": return true
            case "false": return false
            default: break
            }
        }
        report(node, "\(what) must be true or false, found \(Self.describe(node))")
        return nil
    }

    /// The fields of a mapping whose keys the format fixes. Reports keys that are not names, keys the
    /// format does not have (with the nearest allowed key, because a typo such as `detokenise` must never
    /// silently change what is granted), and repeated keys (YAML forbids them; Yams would keep both).
    mutating func fields(of mapping: Yams.Node.Mapping, in context: String, allowed: [String]) -> [String: Field] {
        var fields: [String: Field] = [:]
        for entry in entries(of: mapping, in: context) {
            guard allowed.contains(entry.name) else {
                let guess = Self.nearest(to: entry.name, in: allowed).map { "did you mean \"\($0)\"? " } ?? ""
                report(
                    entry.key,
                    "unknown key \(Self.quote(entry.name)) in \(context) "
                        + "(\(guess)keys: \(allowed.joined(separator: ", ")))"
                )
                continue
            }
            fields[entry.name] = Field(key: entry.key, value: entry.value)
        }
        return fields
    }

    /// The entries of a mapping whose keys the author chooses, in file order, each name once.
    mutating func entries(of mapping: Yams.Node.Mapping, in context: String) -> [Entry] {
        var entries: [Entry] = []
        var firstLine: [String: Int] = [:]
        for (key, value) in mapping where spend(key) {
            guard case .scalar(let scalar) = key, !Self.isNull(key) else {
                report(key, "keys in \(context) must be names, found \(Self.describe(key))")
                continue
            }
            if let line = firstLine[scalar.string] {
                report(key, "duplicate key \(Self.quote(scalar.string)) in \(context) (first at line \(line))")
                continue
            }
            firstLine[scalar.string] = Self.line(of: key)
            entries.append(Entry(name: scalar.string, key: key, value: value))
        }
        return entries
    }

    /// A required field, or a problem at the mapping that lacks it.
    mutating func require(_ name: String, in fields: [String: Field], of node: Yams.Node, _ owner: String) -> Field? {
        if let field = fields[name] { return field }
        report(node, "\(owner) has no \(name)")
        return nil
    }

    // MARK: - Describing nodes

    /// Plain `~`, `null` or nothing: YAML's null. Quoted, the same text is a string.
    static func isNull(_ node: Yams.Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// What a node is, for "found …" in messages.
    static func describe(_ node: Yams.Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar):
            if isNull(node) { return "nothing" }
            let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
            return quoted ? "the quoted string \(quote(scalar.string))" : quote(scalar.string)
        }
    }

    static func line(of node: Yams.Node) -> Int {
        node.mark?.line ?? 1
    }

    /// Text from the file, quoted for a message: at most 64 characters, control characters escaped, so a
    /// policy cannot smuggle a newline into a log line.
    static func quote(_ text: String) -> String {
        let limit = 64
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _
            where scalar.properties.generalCategory == .control
                || scalar.properties.generalCategory == .lineSeparator
                || scalar.properties.generalCategory == .paragraphSeparator:
                out += scalar.escaped(asASCII: true)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return "\"" + out + (text.unicodeScalars.count > limit ? "…" : "") + "\""
    }

    /// The allowed word closest to a misspelt one (at most two edits away), for "did you mean".
    static func nearest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }

    /// Levenshtein distance over characters; the words are short keys, so the quadratic table is cheap.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.prefix(64))
        let b = Array(b.prefix(64))
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }
}
