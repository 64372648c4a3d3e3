import Yams

/// Reads a policy file into a `Policy`, collecting every problem with its line and column.
///
/// It walks the node tree of `Yams.compose(yaml:)` itself (rather than decoding into `Codable` types) so
/// that each problem can name where it is, and so that it can go on after one problem and report the rest:
/// every section is parsed as far as it can be, and a policy is returned only if nothing at all was wrong.
struct PolicyParser {
    let file: String
    private(set) var problems: [PolicyProblem] = []
    /// Nodes the walk may still visit. YAML aliases are expanded by sharing, so a few hundred bytes of
    /// nested `*alias` lists can stand for billions of nodes; the budget turns that into one problem
    /// instead of a hung reload.
    private var budget = PolicyParser.nodeBudget + 1

    static let nodeBudget = 200_000
    /// Format-preserving tokens exist only for kinds with a fixed shape to preserve.
    static let formatPreservingKinds: Set<Kind> = [.card, .ssn, .phone, .email]

    init(file: String) {
        self.file = file
    }

    /// The policy, if the file has no problem, and the problems in file order.
    static func parse(yaml: String, file: String) -> (policy: Policy?, problems: [PolicyProblem]) {
        var parser = PolicyParser(file: file)
        let policy = parser.document(yaml)
        // In file order, and in finding order within a position, so the list reads top to bottom.
        let problems = parser.problems.enumerated()
            .sorted { a, b in
                (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
            }
            .map(\.element)
        return (problems.isEmpty ? policy : nil, problems)
    }

    mutating func report(_ node: Yams.Node, _ message: String) {
        report(line: node.mark?.line ?? 1, column: node.mark?.column ?? 1, message)
    }

    mutating func report(line: Int, column: Int, _ message: String) {
        // Once the budget is spent the walk sees only empty lists and mappings; what it would say about
        // them ("has no kinds") is noise, so only the budget's own problem is kept.
        guard budget > 0 else { return }
        problems.append(PolicyProblem(file: file, line: line, column: column, message: message))
    }

    /// Counts one node against the budget; false (after one problem) once it is spent.
    mutating func spend(_ node: Yams.Node) -> Bool {
        if budget == 1 {
            report(
                node,
                "the policy is too large (more than \(Self.nodeBudget) entries, counting YAML aliases "
                    + "as copies); checking stopped here"
            )
        }
        budget -= 1
        return budget > 0
    }

    // MARK: - The document

    private mutating func document(_ yaml: String) -> Policy {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            syntaxError(error, in: yaml)
            return .denyAll
        }
        // An empty file (or one holding only comments or `---`) is a valid policy that grants nothing.
        guard let root, !Self.isNull(root) else { return .denyAll }
        guard let top = mapping(root, "the policy") else { return .denyAll }
        let fields = fields(of: top, in: "the policy", allowed: Self.topLevelKeys)
        let kinds = fields["kinds"].map { kindModes($0.value) } ?? [:]
        // nil when `roles:` is there but not a mapping: its problem is reported, and identities naming
        // roles are then not also reported as naming unknown ones.
        let roles = fields["roles"].map { self.roles($0.value) } ?? [:]
        let identities = fields["identities"].map { self.identities($0.value, roles: roles) } ?? []
        let consent = fields["consent_required"].map { purposeItems($0.value, path: "consent_required") } ?? []
        let exempt = fields["restriction_exempt"].map { purposeItems($0.value, path: "restriction_exempt") } ?? []
        let retention = fields["retention"].map { self.retention($0.value) } ?? [:]
        checkSubjectPurposes(consent: consent, exempt: exempt, roles: roles)
        return Policy(
            kinds: kinds,
            identities: identities,
            roles: roles ?? [:],
            consentRequired: Set(consent.map(\.purpose)),
            restrictionExempt: Set(exempt.map(\.purpose)),
            retention: retention
        )
    }

    /// The keys of the top level, in the order docs/POLICY.md describes them.
    static let topLevelKeys = ["kinds", "identities", "roles", "consent_required", "restriction_exempt", "retention"]

    /// Yams' error as a problem at its own line and column.
    private mutating func syntaxError(_ error: any Error, in yaml: String) {
        guard let yamlError = error as? YamlError else {
            report(line: 1, column: 1, "YAML syntax error: \(error)")
            return
        }
        func context(_ context: YamlError.Context?) -> String {
            context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
        }
        switch yamlError {
        case .scanner(let ctx, let problem, let mark, _), .parser(let ctx, let problem, let mark, _),
            .composer(let ctx, let problem, let mark, _):
            report(line: mark.line, column: mark.column, "YAML syntax error: \(problem)\(context(ctx))")
        case .reader(let problem, let offset, _, _):
            // The offset counts characters; turn it into a line and column by hand.
            let prefix = yaml.prefix(offset ?? 0)
            let line = prefix.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
            let lineStart = prefix.lastIndex(of: "\n").map(prefix.index(after:)) ?? prefix.startIndex
            let column = prefix.distance(from: lineStart, to: prefix.endIndex) + 1
            report(line: line, column: column, "YAML syntax error: \(problem)")
        default:
            report(line: 1, column: 1, "YAML syntax error: \(yamlError)")
        }
    }

    // MARK: - kinds

    private mutating func kindModes(_ node: Yams.Node) -> [Kind: TokenMode] {
        guard let mapping = mapping(node, "kinds") else { return [:] }
        var modes: [Kind: TokenMode] = [:]
        for entry in entries(of: mapping, in: "kinds") {
            let kind = kind(named: entry.name, at: entry.key)
            guard let name = string(entry.value, "the token mode of \(Self.quote(entry.name))") else { continue }
            guard let mode = TokenMode(rawValue: name) else {
                let modes = TokenMode.allCases.map(\.rawValue).joined(separator: ", ")
                report(entry.value, "unknown token mode \(Self.quote(name)) (modes: \(modes))")
                continue
            }
            guard let kind else { continue }
            if mode == .formatPreserving && !Self.formatPreservingKinds.contains(kind) {
                let allowed = Kind.allCases.filter(Self.formatPreservingKinds.contains).map(\.rawValue)
                report(
                    entry.value,
                    "token mode format-preserving is not available for kind \(kind.rawValue) "
                        + "(only for \(allowed.joined(separator: ", ")))"
                )
                continue
            }
            modes[kind] = mode
        }
        return modes
    }

    /// The kind called `name`, or a problem listing the kinds.
    mutating func kind(named name: String, at node: Yams.Node) -> Kind? {
        if let kind = Kind(rawValue: name) { return kind }
        let kinds = Kind.allCases.map(\.rawValue).joined(separator: ", ")
        report(node, "unknown kind \(Self.quote(name)) (kinds: \(kinds))")
        return nil
    }

    /// A list of kind names, as a set.
    mutating func kindList(_ node: Yams.Node, _ what: String) -> Set<Kind> {
        guard let items = sequence(node, what, of: "kinds") else { return [] }
        var kinds: Set<Kind> = []
        for item in items {
            if let name = string(item, "each kind in \(what)"), let kind = kind(named: name, at: item) {
                kinds.insert(kind)
            }
        }
        return kinds
    }
}
