import Foundation
import Testing

@testable import VaultCore

/// One small file with exactly one problem, where it is, and what its message says.
struct ProblemCase: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let line: Int
    let column: Int
    let message: String

    var testDescription: String { name }

    /// The case's file has exactly one problem, at the case's line and column, whose message contains the
    /// case's text.
    func expectExactlyThisProblem(sourceLocation: SourceLocation = #_sourceLocation) {
        let problems = Policy.check(yaml: yaml)
        #expect(problems.count == 1, "\(problems)", sourceLocation: sourceLocation)
        guard let problem = problems.first else { return }
        #expect(problem.line == line, "\(problem)", sourceLocation: sourceLocation)
        #expect(problem.column == column, "\(problem)", sourceLocation: sourceLocation)
        #expect(problem.message.contains(message), "\(problem)", sourceLocation: sourceLocation)
        #expect(problem.description.hasPrefix("policy.yaml:\(line):\(column): "), sourceLocation: sourceLocation)
    }

    init(_ name: String, at line: Int, _ column: Int, _ message: String, _ yaml: String) {
        self.name = name
        self.yaml = yaml
        self.line = line
        self.column = column
        self.message = message
    }
}

@Suite struct PolicyCheckTests {
    static let cases: [ProblemCase] = [
        // YAML syntax, with Yams' own line.
        ProblemCase(
            "unclosed flow list",
            at: 3,
            1,
            "YAML syntax error: did not find expected ',' or ']'",
            """
            roles:
              a: [b
            """
        ),
        ProblemCase(
            "bad indentation",
            at: 3,
            2,
            "YAML syntax error: did not find expected key",
            """
            kinds:
              email: opaque
             bad: opaque
            """
        ),
        ProblemCase(
            "two documents",
            at: 2,
            1,
            "YAML syntax error: but found another document",
            """
            kinds: {}
            ---
            roles: {}
            """
        ),
        ProblemCase(
            "tab indentation",
            at: 2,
            1,
            "YAML syntax error: found character that cannot start any token",
            """
            kinds:
            \temail: opaque
            """
        ),

        ProblemCase(
            "control character",
            at: 4,
            4,
            "YAML syntax error: control characters are not allowed",
            "kinds: {}\nroles:\n  r: {}\n  s\u{0001}: {}\n"
        ),

        // Wrong types.
        ProblemCase(
            "top level is a list",
            at: 1,
            1,
            "the policy must be a mapping of key: value, found a list",
            """
            - kinds
            """
        ),
        ProblemCase(
            "identities is a mapping",
            at: 1,
            13,
            "identities must be a list of identities, found a mapping",
            """
            identities: {}
            """
        ),
        ProblemCase(
            "identities is empty",
            at: 1,
            12,
            "identities must be a list of identities, found nothing (write [] for none)",
            """
            identities:
            """
        ),
        ProblemCase(
            "roles is a list",
            at: 1,
            8,
            "roles must be a mapping of key: value, found a list",
            """
            roles: [payments]
            """
        ),
        ProblemCase(
            "role body is empty",
            at: 2,
            11,
            "roles.auditor must be a mapping of key: value, found nothing (write {} for none)",
            """
            roles:
              auditor:
            """
        ),
        ProblemCase(
            "tokenize is a string",
            at: 3,
            15,
            "roles.r.tokenize must be a list of kinds, found \"card\"",
            """
            roles:
              r:
                tokenize: card
            """
        ),
        ProblemCase(
            "detokenize rule is a string",
            at: 3,
            18,
            "roles.r.detokenize[0] must be a mapping of key: value, found \"card\"",
            """
            roles:
              r:
                detokenize: [card]
            """
        ),
        ProblemCase(
            "purposes is a string",
            at: 5,
            19,
            "roles.r.detokenize[0].purposes must be a list of purposes, found \"charge\"",
            """
            roles:
              r:
                detokenize:
                  - kinds: [card]
                    purposes: charge
                    reveal: plain
            """
        ),
        ProblemCase(
            "identity roles is a string",
            at: 4,
            12,
            "identities[0].roles must be a list of role names, found \"r\"",
            """
            identities:
              - name: a
                uid: 1
                roles: r
            roles:
              r: {}
            """
        ),
        ProblemCase(
            "kind in a list is a list",
            at: 3,
            16,
            "each kind in roles.r.tokenize must be a name, found a list",
            """
            roles:
              r:
                tokenize: [[card]]
            """
        ),
        ProblemCase(
            "mapping key is a list",
            at: 2,
            5,
            "keys in roles must be names, found a list",
            """
            roles:
              ? [a]
              : {}
            """
        ),

        // Unknown keys, with a suggestion for typos.
        ProblemCase(
            "detokenise",
            at: 3,
            5,
            "unknown key \"detokenise\" in roles.payments (did you mean \"detokenize\"? "
                + "keys: tokenize, detokenize, erase, limits, consent, restrict, report)",
            """
            roles:
              payments:
                detokenise: []
            """
        ),
        ProblemCase(
            "unknown top-level key",
            at: 1,
            1,
            "unknown key \"role\" in the policy (did you mean \"roles\"? keys: kinds, identities, roles, consent_required, restriction_exempt, retention)",
            """
            role: {}
            """
        ),
        ProblemCase(
            "unknown identity key",
            at: 5,
            5,
            "unknown key \"group\" in identities[0] (keys: name, uid, roles)",
            """
            identities:
              - name: a
                uid: 1
                roles: []
                group: 5
            """
        ),
        ProblemCase(
            "unknown rule key",
            at: 7,
            9,
            "unknown key \"purpose\" in roles.r.detokenize[0] (did you mean \"purposes\"?",
            """
            roles:
              r:
                detokenize:
                  - kinds: []
                    purposes: []
                    reveal: plain
                    purpose: [x]
            """
        ),
        ProblemCase(
            "unknown limits key",
            at: 3,
            15,
            "unknown key \"max_batches\" in roles.r.limits (did you mean \"max_batch\"?",
            """
            roles:
              r:
                limits: { max_batches: 5 }
            """
        ),
        ProblemCase(
            "duplicate key",
            at: 4,
            5,
            "duplicate key \"erase\" in roles.r (first at line 3)",
            """
            roles:
              r:
                erase: false
                erase: true
            """
        ),
        ProblemCase(
            "duplicate role",
            at: 3,
            3,
            "duplicate key \"r\" in roles (first at line 2)",
            """
            roles:
              r: {}
              r: {erase: true}
            """
        ),

        // Kinds and token modes.
        ProblemCase(
            "unknown kind in kinds",
            at: 2,
            3,
            "unknown kind \"cardd\" (kinds: email, phone, card, ssn, name, address, date, text)",
            """
            kinds:
              cardd: opaque
            """
        ),
        ProblemCase(
            "unknown kind in tokenize",
            at: 3,
            22,
            "unknown kind \"cardd\" (kinds: email, phone, card, ssn, name, address, date, text)",
            """
            roles:
              r:
                tokenize: [card, cardd]
            """
        ),
        ProblemCase(
            "unknown kind in a rule",
            at: 4,
            17,
            "unknown kind \"iban\"",
            """
            roles:
              r:
                detokenize:
                  - kinds: [iban]
                    purposes: [x]
                    reveal: plain
            """
        ),
        ProblemCase(
            "unknown token mode",
            at: 2,
            9,
            "unknown token mode \"random\" (modes: opaque, deterministic, format-preserving)",
            """
            kinds:
              card: random
            """
        ),
        ProblemCase(
            "format-preserving name",
            at: 2,
            9,
            "token mode format-preserving is not available for kind name (only for email, phone, card, ssn)",
            """
            kinds:
              name: format-preserving
            """
        ),
        ProblemCase(
            "format-preserving text",
            at: 2,
            9,
            "token mode format-preserving is not available for kind text",
            """
            kinds:
              text: format-preserving
            """
        ),

        // Identities.
        ProblemCase(
            "identity names an unknown role",
            at: 4,
            13,
            "identities[0].roles names unknown role \"payment\" (roles: payments, support)",
            """
            identities:
              - name: a
                uid: 1
                roles: [payment]
            roles:
              payments: {}
              support: {}
            """
        ),
        ProblemCase(
            "duplicate uid",
            at: 6,
            10,
            "uid 7 is already used by identity \"a\" (line 2)",
            """
            identities:
              - name: a
                uid: 7
                roles: []
              - name: b
                uid: 7
                roles: []
            """
        ),
        ProblemCase(
            "duplicate identity name",
            at: 5,
            11,
            "identity name \"a\" is already used (line 2)",
            """
            identities:
              - name: a
                uid: 7
                roles: []
              - name: a
                uid: 8
                roles: []
            """
        ),
        ProblemCase(
            "negative uid",
            at: 3,
            10,
            "identities[0].uid must be an integer from 0 to 4294967294, found \"-1\"",
            """
            identities:
              - name: a
                uid: -1
                roles: []
            """
        ),
        ProblemCase(
            "uid is text",
            at: 3,
            10,
            "identities[0].uid must be an integer from 0 to 4294967294, found \"checkout\"",
            """
            identities:
              - name: a
                uid: checkout
                roles: []
            """
        ),
        ProblemCase(
            "uid is quoted",
            at: 3,
            10,
            "found the quoted string \"1001\"",
            """
            identities:
              - name: a
                uid: "1001"
                roles: []
            """
        ),
        ProblemCase(
            "uid is (uid_t)-1",
            at: 3,
            10,
            "identities[0].uid must be an integer from 0 to 4294967294",
            """
            identities:
              - name: a
                uid: 4294967295
                roles: []
            """
        ),
        ProblemCase(
            "uid in octal",
            at: 3,
            10,
            "identities[0].uid must be an integer",
            """
            identities:
              - name: a
                uid: 01001
                roles: []
            """
        ),
        ProblemCase(
            "uid is fractional",
            at: 3,
            10,
            "identities[0].uid must be an integer",
            """
            identities:
              - name: a
                uid: 10.5
                roles: []
            """
        ),
        ProblemCase(
            "identity without uid",
            at: 2,
            5,
            "identities[0] has no uid",
            """
            identities:
              - name: a
                roles: []
            """
        ),
        ProblemCase(
            "identity without roles",
            at: 2,
            5,
            "identities[0] has no roles",
            """
            identities:
              - name: a
                uid: 5
            """
        ),
        ProblemCase(
            "identity name with a space",
            at: 2,
            11,
            "identity name \"check out\" must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'",
            """
            identities:
              - name: check out
                uid: 5
                roles: []
            """
        ),
        ProblemCase(
            "role name with a dot",
            at: 2,
            3,
            "role name \"pay.ments\" must be 1 to 64 characters",
            """
            roles:
              pay.ments: {}
            """
        ),

        // Purposes, reveal, erase, limits.
        ProblemCase(
            "purpose with capitals",
            at: 5,
            20,
            "purpose \"Charge\" must be 1 to 64 characters of a-z, 0-9 and '-'",
            """
            roles:
              r:
                detokenize:
                  - kinds: [card]
                    purposes: [Charge]
                    reveal: plain
            """
        ),
        ProblemCase(
            "purpose with underscore",
            at: 5,
            20,
            "purpose \"fraud_review\" must be",
            """
            roles:
              r:
                detokenize:
                  - kinds: [card]
                    purposes: [fraud_review]
                    reveal: plain
            """
        ),
        ProblemCase(
            "purpose too long",
            at: 5,
            20,
            "must be 1 to 64 characters of a-z, 0-9 and '-'",
            """
            roles:
              r:
                detokenize:
                  - kinds: [card]
                    purposes: [\(String(repeating: "a", count: 65))]
                    reveal: plain
            """
        ),
        ProblemCase(
            "empty purpose",
            at: 5,
            20,
            "purpose \"\" must be",
            """
            roles:
              r:
                detokenize:
                  - kinds: [card]
                    purposes: [""]
                    reveal: plain
            """
        ),
        ProblemCase(
            "reveal full",
            at: 6,
            17,
            "roles.r.detokenize[0].reveal must be plain or masked, found \"full\"",
            """
            roles:
              r:
                detokenize:
                  - kinds: [card]
                    purposes: [x]
                    reveal: full
            """
        ),
        ProblemCase(
            "rule without reveal",
            at: 4,
            9,
            "roles.r.detokenize[0] has no reveal",
            """
            roles:
              r:
                detokenize:
                  - kinds: [card]
                    purposes: [x]
            """
        ),
        ProblemCase(
            "erase yes",
            at: 3,
            12,
            "roles.r.erase must be true or false, found \"yes\"",
            """
            roles:
              r:
                erase: yes
            """
        ),
        ProblemCase(
            "erase quoted",
            at: 3,
            12,
            "roles.r.erase must be true or false, found the quoted string \"true\"",
            """
            roles:
              r:
                erase: "true"
            """
        ),
        ProblemCase(
            "erase is a number",
            at: 3,
            12,
            "roles.r.erase must be true or false, found \"1\"",
            """
            roles:
              r:
                erase: 1
            """
        ),
        ProblemCase(
            "max_batch zero",
            at: 3,
            26,
            "roles.r.limits.max_batch must be an integer from 1 to 1000000, found \"0\"",
            """
            roles:
              r:
                limits: { max_batch: 0 }
            """
        ),
        ProblemCase(
            "reveals_per_minute negative",
            at: 4,
            27,
            "roles.r.limits.reveals_per_minute must be an integer from 1 to 100000000, found \"-5\"",
            """
            roles:
              r:
                limits:
                  reveals_per_minute: -5
            """
        ),
        ProblemCase(
            "reveals_per_minute text",
            at: 4,
            27,
            "found \"lots\"",
            """
            roles:
              r:
                limits:
                  reveals_per_minute: lots
            """
        ),
        ProblemCase(
            "limits is a number",
            at: 3,
            13,
            "roles.r.limits must be a mapping of key: value, found \"5\"",
            """
            roles:
              r:
                limits: 5
            """
        ),
    ]

    @Test(arguments: cases)
    func reportsTheProblemAtItsLine(_ testCase: ProblemCase) {
        testCase.expectExactlyThisProblem()
    }

    @Test func theExampleIsAcceptedExactlyAsWritten() throws {
        #expect(Policy.check(yaml: PolicyFixtures.example).isEmpty)
        let policy = try Policy.parse(yaml: PolicyFixtures.example)
        #expect(policy.kinds == [.email: .deterministic, .card: .formatPreserving])
        #expect(policy.tokenMode(for: .email) == .deterministic)
        #expect(policy.tokenMode(for: .card) == .formatPreserving)
        #expect(policy.tokenMode(for: .ssn) == .opaque)

        let checkout = try #require(policy.identity(uid: 1001))
        #expect(checkout.name == "checkout")
        #expect(checkout.roles == ["payments"])
        #expect(checkout.line == 5)
        #expect(policy.identity(named: "helpdesk")?.uid == 1002)
        #expect(policy.identity(uid: 1005) == nil)

        let payments = try #require(policy.roles["payments"])
        #expect(payments.tokenize == [.card, .email, .name])
        #expect(payments.detokenize.count == 2)
        #expect(payments.detokenize[0].kinds == [.card])
        #expect(payments.detokenize[0].purposes == ["charge", "refund"])
        #expect(payments.detokenize[0].reveal == .plain)
        #expect(payments.detokenize[0].line == 21)
        #expect(payments.detokenize[1].reveal == .masked)
        #expect(payments.erase == false)
        #expect(payments.limits == .defaults)
        let support = try #require(policy.roles["support"])
        #expect(support.tokenize.isEmpty)
        #expect(support.erase)
    }

    /// docs/POLICY.md shows valid policies in ```yaml blocks (and broken ones in plain blocks): each must
    /// pass the check, so the documentation cannot drift from the language.
    @Test func everyPolicyInTheDocsIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let docs = try String(contentsOf: root.appendingPathComponent("docs/POLICY.md"), encoding: .utf8)
        let blocks = docs.components(separatedBy: "```yaml\n").dropFirst().map {
            $0.components(separatedBy: "```")[0]
        }
        #expect(blocks.count >= 2)
        #expect(blocks.first == PolicyFixtures.example)
        for block in blocks {
            #expect(Policy.check(yaml: block, file: "docs/POLICY.md").isEmpty, "\(block)")
        }
    }

    /// The broken file shown in docs/POLICY.md gives exactly the problems shown there.
    @Test func theDocsBrokenExampleGivesTheProblemsShown() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let docs = try String(contentsOf: root.appendingPathComponent("docs/POLICY.md"), encoding: .utf8)
        let section = try #require(docs.components(separatedBy: "this file has six mistakes:\n\n```\n").last)
        let file = try #require(section.components(separatedBy: "```").first)
        let shown = try #require(section.components(separatedBy: "```\n").dropFirst(2).first)
        let problems = Policy.check(yaml: file).map(\.description)
        #expect(problems.count == 6)
        #expect(problems.joined(separator: "\n") + "\n" == shown)
    }

    @Test func reportsEveryProblemInFileOrder() {
        let yaml = """
            kinds:
              cardd: opaque
              name: format-preserving
            identities:
              - name: checkout
                uid: 1001
                roles: [payment]
              - name: checkout
                uid: 1001
                roles: []
            roles:
              payments:
                detokenise: []
                erase: maybe
                limits: { max_batch: 0 }

            """
        let problems = Policy.check(yaml: yaml, file: "/etc/cvault/policy.yaml")
        #expect(problems.map(\.line) == [2, 3, 7, 8, 9, 13, 14, 15])
        #expect(
            problems.map(\.description) == [
                "/etc/cvault/policy.yaml:2:3: unknown kind \"cardd\" "
                    + "(kinds: email, phone, card, ssn, name, address, date, text)",
                "/etc/cvault/policy.yaml:3:9: token mode format-preserving is not available for kind name "
                    + "(only for email, phone, card, ssn)",
                "/etc/cvault/policy.yaml:7:13: identities[0].roles names unknown role \"payment\" (roles: payments)",
                "/etc/cvault/policy.yaml:8:11: identity name \"checkout\" is already used (line 5)",
                "/etc/cvault/policy.yaml:9:10: uid 1001 is already used by identity \"checkout\" (line 5); "
                    + "the socket peer's uid must pick one identity",
                "/etc/cvault/policy.yaml:13:5: unknown key \"detokenise\" in roles.payments (did you mean \"detokenize\"? "
                    + "keys: tokenize, detokenize, erase, limits, consent, restrict, report)",
                "/etc/cvault/policy.yaml:14:12: roles.payments.erase must be true or false, found \"maybe\"",
                "/etc/cvault/policy.yaml:15:26: roles.payments.limits.max_batch must be an integer from 1 to 1000000, "
                    + "found \"0\"",
            ]
        )
    }

    @Test func parseThrowsAPolicyErrorListingEveryProblem() {
        let yaml = "kinds:\n  cardd: opaque\nroles:\n  r:\n    erase: maybe\n"
        #expect {
            try Policy.parse(yaml: yaml, file: "p.yaml")
        } throws: { error in
            guard let error = error as? VaultError else { return false }
            return error.code == .policy
                && error.message.contains("p.yaml has 2 problems")
                && error.message.contains("p.yaml:2:3: unknown kind \"cardd\"")
                && error.message.contains("p.yaml:5:12: roles.r.erase must be true or false")
        }
    }

    @Test(arguments: ["", "\n", "# nothing yet\n", "---\n", "~\n", "kinds: {}\nidentities: []\nroles: {}\n"])
    func emptyPoliciesAreValidAndDenyEverything(_ yaml: String) throws {
        #expect(Policy.check(yaml: yaml).isEmpty)
        let policy = try Policy.parse(yaml: yaml)
        #expect(policy == .denyAll)
    }

    @Test func aBrokenRolesSectionIsOneProblemNotOnePerIdentity() {
        let problems = Policy.check(
            yaml: """
                identities:
                  - {name: a, uid: 1, roles: [payments]}
                  - {name: b, uid: 2, roles: [support]}
                roles: [payments, support]
                """
        )
        #expect(
            problems.map(\.description) == [
                "policy.yaml:4:8: roles must be a mapping of key: value, found a list"
            ]
        )
    }

    @Test func roleWithNoGrantsIsFine() throws {
        let policy = try Policy.parse(
            yaml: """
                identities:
                  - {name: a, uid: 5, roles: [auditor]}
                roles:
                  auditor: {}
                """
        )
        let identity = try #require(policy.identity(named: "a"))
        #expect(policy.roles["auditor"]?.detokenize.isEmpty == true)
        #expect(!policy.eraseDecision(identity: identity).isAllowed)
    }

    @Test func uidZeroAndTheLargestUIDAreAccepted() throws {
        let yaml = "identities:\n  - {name: a, uid: 0, roles: []}\n  - {name: b, uid: 4294967294, roles: []}\n"
        let policy = try Policy.parse(yaml: yaml)
        #expect(policy.identity(uid: 0)?.name == "a")
        #expect(policy.identity(uid: 4_294_967_294)?.name == "b")
    }

    @Test func messagesEscapeControlCharactersAndShortenLongText() {
        let long = String(repeating: "x", count: 100)
        let problems = Policy.check(yaml: "kinds:\n  \"car\\nd\\u001b[31m\": opaque\n  \(long): opaque\n")
        #expect(problems.count == 2)
        #expect(problems[0].message.hasPrefix("unknown kind \"car\\nd\\u{1B}[31m\""))
        #expect(!problems[0].message.contains("\n"))
        #expect(problems[1].message.hasPrefix("unknown kind \"\(String(repeating: "x", count: 64))…\""))
    }

    @Test func aliasBombsStopAtTheBudgetInsteadOfHanging() {
        // A few kilobytes of aliases that stand for 101 roles x 100 rules x 100 kinds: a million entries,
        // five times the budget. The walk must stop with one problem, not visit them all.
        let kinds = Array(repeating: "card", count: 100).joined(separator: ", ")
        var lines = [
            "roles:",
            "  base:",
            "    detokenize: &rules",
            "      - &rule {kinds: [\(kinds)], purposes: [x], reveal: plain}",
        ]
        lines += Array(repeating: "      - *rule", count: 99)
        lines.append("  r1: &body {detokenize: *rules}")
        lines += (2...100).map { "  r\($0): *body" }
        let problems = Policy.check(yaml: lines.joined(separator: "\n") + "\n")
        #expect(problems.count == 1, "\(problems.prefix(3))")
        #expect(problems.first?.message.hasPrefix("the policy is too large (more than 200000 entries") == true)
    }
}
