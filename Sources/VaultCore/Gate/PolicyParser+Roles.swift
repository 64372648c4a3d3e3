import Yams

/// The `roles:` section: each role's grants and limits.
extension PolicyParser {
    /// Roles by name, or nil (after a problem) if the section is not a mapping. A role with problems still
    /// gets a `Role` (with its broken parts left out), so an identity naming it is not also reported as
    /// naming an unknown role; the policy is refused anyway.
    mutating func roles(_ node: Yams.Node) -> [String: Policy.Role]? {
        guard let mapping = mapping(node, "roles") else { return nil }
        var roles: [String: Policy.Role] = [:]
        for entry in entries(of: mapping, in: "roles") {
            checkName(entry.name, at: entry.key, "role name")
            roles[entry.name] = role(entry, path: Self.path("roles", entry.name))
        }
        return roles
    }

    private mutating func role(_ entry: Entry, path: String) -> Policy.Role {
        var tokenize: Set<Kind> = []
        var detokenize: [Policy.DetokenizeRule] = []
        var erase = false
        var limits = RoleLimits.defaults
        var lines = (tokenize: 0, erase: 0, limits: 0)
        var permissions: [String: (granted: Bool, line: Int)] = [:]
        // A role with no grants is fine (`payments: {}`): it denies everything, like an unknown one.
        if let body = mapping(entry.value, path) {
            let fields = fields(of: body, in: path, allowed: Self.roleKeys)
            if let field = fields["tokenize"] {
                tokenize = kindList(field.value, "\(path).tokenize")
                lines.tokenize = Self.line(of: field.key)
            }
            if let field = fields["detokenize"] {
                detokenize = rules(field.value, path: "\(path).detokenize")
            }
            if let field = fields["erase"] {
                erase = bool(field.value, "\(path).erase") ?? false
                lines.erase = Self.line(of: field.key)
            }
            if let field = fields["limits"] {
                limits = self.limits(field.value, path: "\(path).limits")
                lines.limits = Self.line(of: field.key)
            }
            // The customer-rights permissions read like `erase`: a missing key or a broken value grants nothing.
            for key in ["consent", "restrict", "report"] {
                if let field = fields[key] {
                    permissions[key] = (bool(field.value, "\(path).\(key)") ?? false, Self.line(of: field.key))
                }
            }
        }
        return Policy.Role(
            name: entry.name,
            tokenize: tokenize,
            detokenize: detokenize,
            erase: erase,
            limits: limits,
            line: Self.line(of: entry.key),
            tokenizeLine: lines.tokenize,
            eraseLine: lines.erase,
            limitsLine: lines.limits,
            consent: permissions["consent"]?.granted ?? false,
            restrict: permissions["restrict"]?.granted ?? false,
            report: permissions["report"]?.granted ?? false,
            consentLine: permissions["consent"]?.line ?? 0,
            restrictLine: permissions["restrict"]?.line ?? 0,
            reportLine: permissions["report"]?.line ?? 0
        )
    }

    /// The keys of a role, in the order docs/POLICY.md describes them.
    static let roleKeys = ["tokenize", "detokenize", "erase", "limits", "consent", "restrict", "report"]

    private mutating func rules(_ node: Yams.Node, path: String) -> [Policy.DetokenizeRule] {
        guard let items = sequence(node, path, of: "rules") else { return [] }
        var rules: [Policy.DetokenizeRule] = []
        for (index, item) in items.enumerated() {
            let rulePath = "\(path)[\(index)]"
            guard let body = mapping(item, rulePath) else { continue }
            let fields = fields(of: body, in: rulePath, allowed: ["kinds", "purposes", "reveal"])
            // All three keys are required: a rule that left out `purposes` or `reveal` has no safe reading.
            let kinds = require("kinds", in: fields, of: item, rulePath).map { kindList($0.value, "\(rulePath).kinds") }
            let purposes = require("purposes", in: fields, of: item, rulePath)
                .map { Set(purposeItems($0.value, path: "\(rulePath).purposes").map(\.purpose)) }
            let reveal = require("reveal", in: fields, of: item, rulePath)
                .flatMap { revealMode($0.value, path: "\(rulePath).reveal") }
            guard let kinds, let purposes, let reveal else { continue }
            rules.append(
                Policy.DetokenizeRule(
                    kinds: kinds,
                    purposes: purposes,
                    reveal: reveal,
                    index: index,
                    line: Self.line(of: item)
                )
            )
        }
        return rules
    }

    /// Each purpose through `Purpose`, the rule a request's purpose meets, so a rule can name only purposes a
    /// caller can ask for; with its node, so a later check can point at the item. A purpose listed twice is
    /// kept once (at its first place).
    mutating func purposeItems(_ node: Yams.Node, path: String) -> [(purpose: Purpose, node: Yams.Node)] {
        guard let items = sequence(node, path, of: "purposes") else { return [] }
        var purposes: [(purpose: Purpose, node: Yams.Node)] = []
        var seen: Set<Purpose> = []
        for item in items {
            guard let text = string(item, "each purpose in \(path)") else { continue }
            if let purpose = try? Purpose(text) {
                if seen.insert(purpose).inserted { purposes.append((purpose, item)) }
            } else {
                report(item, "purpose \(Self.quote(text)) must be 1 to 64 characters of a-z, 0-9 and '-'")
            }
        }
        return purposes
    }

    private mutating func revealMode(_ node: Yams.Node, path: String) -> RevealMode? {
        guard let name = string(node, path) else { return nil }
        if let mode = RevealMode(rawValue: name) { return mode }
        report(node, "\(path) must be plain or masked, found \(Self.quote(name))")
        return nil
    }

    private mutating func limits(_ node: Yams.Node, path: String) -> RoleLimits {
        guard let body = mapping(node, path) else { return .defaults }
        let fields = fields(of: body, in: path, allowed: ["max_batch", "reveals_per_minute", "misses_per_minute"])
        let maxBatch = fields["max_batch"].flatMap {
            integer($0.value, "\(path).max_batch", in: 1...RoleLimits.maxBatchCeiling)
        }
        let rate = fields["reveals_per_minute"].flatMap {
            integer($0.value, "\(path).reveals_per_minute", in: 1...RoleLimits.revealsPerMinuteCeiling)
        }
        let misses = fields["misses_per_minute"].flatMap {
            integer($0.value, "\(path).misses_per_minute", in: 1...RoleLimits.missesPerMinuteCeiling)
        }
        return RoleLimits(
            maxBatch: maxBatch ?? RoleLimits.defaultMaxBatch,
            revealsPerMinute: rate,
            missesPerMinute: misses ?? RoleLimits.defaultMissesPerMinute
        )
    }
}
