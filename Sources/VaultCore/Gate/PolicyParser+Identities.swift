import Yams

/// The `identities:` section, and the rules for names.
extension PolicyParser {
    /// The largest uid an identity may have: `(uid_t)-1` (4294967295) means "no uid" to the kernel.
    static let maxUID = Int(UInt32.max) - 1

    /// `roles` is nil when the roles section was broken: role names are then not checked.
    mutating func identities(_ node: Yams.Node, roles: [String: Policy.Role]?) -> [Policy.Identity] {
        guard let items = sequence(node, "identities", of: "identities") else { return [] }
        var identities: [Policy.Identity] = []
        // Where each uid and name was first seen, to point a duplicate at the original.
        var uids: [UInt32: (name: String, line: Int)] = [:]
        var names: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = "identities[\(index)]"
            guard let body = mapping(item, path) else { continue }
            let fields = fields(of: body, in: path, allowed: ["name", "uid", "roles"])
            let line = Self.line(of: item)

            let name = require("name", in: fields, of: item, path).flatMap { field -> String? in
                guard let name = string(field.value, "\(path).name") else { return nil }
                checkName(name, at: field.value, "identity name")
                if let first = names[name] {
                    report(field.value, "identity name \(Self.quote(name)) is already used (line \(first))")
                } else {
                    names[name] = line
                }
                return name
            }

            let uid = require("uid", in: fields, of: item, path).flatMap { field -> UInt32? in
                // A uid that is not a plain number would have to be guessed at; refuse it.
                guard let value = integer(field.value, "\(path).uid", in: 0...Self.maxUID) else { return nil }
                let uid = UInt32(value)
                if let first = uids[uid] {
                    report(
                        field.value,
                        "uid \(uid) is already used by identity \(Self.quote(first.name)) "
                            + "(line \(first.line)); the socket peer's uid must pick one identity"
                    )
                } else {
                    uids[uid] = (name ?? path, line)
                }
                return uid
            }

            let roleNames = require("roles", in: fields, of: item, path).map { field -> [String] in
                roleList(field.value, path: "\(path).roles", known: roles)
            }

            guard let name, let uid, let roleNames else { continue }
            identities.append(Policy.Identity(name: name, uid: uid, roles: roleNames, line: line))
        }
        return identities
    }

    /// An identity's role names, each defined in `roles:`, each once, in file order.
    private mutating func roleList(_ node: Yams.Node, path: String, known: [String: Policy.Role]?) -> [String] {
        guard let items = sequence(node, path, of: "role names") else { return [] }
        var names: [String] = []
        for item in items {
            guard let name = string(item, "each role in \(path)") else { continue }
            if let known, known[name] == nil {
                let list = known.keys.sorted().joined(separator: ", ")
                report(
                    item,
                    "\(path) names unknown role \(Self.quote(name)) "
                        + (known.isEmpty ? "(no roles are defined)" : "(roles: \(list))")
                )
                continue
            }
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    // MARK: - Names

    /// Identity and role names: 1 to 64 ASCII letters, digits, '_' or '-'. Narrow because they appear in
    /// logs, audit records, command lines and dotted rule paths (`roles.NAME.detokenize[0]`), where a dot,
    /// a space or a newline would make them ambiguous or forgeable.
    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default:
                    false
                }
            }
    }

    mutating func checkName(_ name: String, at node: Yams.Node, _ what: String) {
        if !Self.isValidName(name) {
            report(node, "\(what) \(Self.quote(name)) must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'")
        }
    }

    /// `parent.name`, or `parent["name"]` for a name that is not valid (and so already reported).
    static func path(_ parent: String, _ name: String) -> String {
        isValidName(name) ? "\(parent).\(name)" : "\(parent)[\(quote(name))]"
    }
}
