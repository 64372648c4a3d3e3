import Testing

@testable import VaultCore

@Suite struct PolicyDecisionTests {
    struct Expected: Equatable, CustomStringConvertible {
        let reveal: RevealMode
        let rule: String
        let line: Int

        var description: String { "\(reveal.rawValue) by \(rule) (line \(line))" }
    }

    static let identities = ["checkout", "helpdesk", "fraud", "lead", "idle"]
    static let purposes: [Purpose] = ["charge", "refund", "receipt", "support", "fraud-review", "marketing"]

    /// Every grant of `PolicyFixtures.matrix`; every other (identity, kind, purpose) must be denied.
    static let detokenizeGrants: [String: Expected] = [
        "checkout card charge": Expected(reveal: .plain, rule: "roles.payments.detokenize[0]", line: 24),
        "checkout card refund": Expected(reveal: .plain, rule: "roles.payments.detokenize[0]", line: 24),
        "checkout email receipt": Expected(reveal: .masked, rule: "roles.payments.detokenize[1]", line: 27),
        "helpdesk email support": Expected(reveal: .masked, rule: "roles.support.detokenize[0]", line: 35),
        "helpdesk phone support": Expected(reveal: .masked, rule: "roles.support.detokenize[0]", line: 35),
        "helpdesk name support": Expected(reveal: .masked, rule: "roles.support.detokenize[0]", line: 35),
        // analyst grants email for fraud-review twice, masked then plain: the plain rule wins.
        "fraud email fraud-review": Expected(reveal: .plain, rule: "roles.analyst.detokenize[1]", line: 46),
        "fraud card fraud-review": Expected(reveal: .masked, rule: "roles.analyst.detokenize[0]", line: 43),
        "fraud email support": Expected(reveal: .plain, rule: "roles.analyst.detokenize[1]", line: 46),
        // lead has support (masked email for support) and analyst (plain email for support): plain wins,
        // from its second role.
        "lead email support": Expected(reveal: .plain, rule: "roles.analyst.detokenize[1]", line: 46),
        "lead phone support": Expected(reveal: .masked, rule: "roles.support.detokenize[0]", line: 35),
        "lead name support": Expected(reveal: .masked, rule: "roles.support.detokenize[0]", line: 35),
        "lead email fraud-review": Expected(reveal: .plain, rule: "roles.analyst.detokenize[1]", line: 46),
        "lead card fraud-review": Expected(reveal: .masked, rule: "roles.analyst.detokenize[0]", line: 43),
    ]

    static let tokenizeGrants: [String: (rule: String, line: Int)] = [
        "checkout card": ("roles.payments.tokenize", 22),
        "checkout email": ("roles.payments.tokenize", 22),
        "checkout name": ("roles.payments.tokenize", 22),
        "fraud address": ("roles.analyst.tokenize", 41),
        "lead address": ("roles.analyst.tokenize", 41),
    ]

    static let eraseGrants: [String: (rule: String, line: Int)] = [
        "helpdesk": ("roles.support.erase", 38),
        "lead": ("roles.support.erase", 38),
    ]

    let policy: Policy

    init() throws {
        policy = try PolicyFixtures.policy(PolicyFixtures.matrix)
    }

    @Test func detokenizeMatrix() throws {
        var checked = 0
        for name in Self.identities {
            let identity = try #require(policy.identity(named: name))
            for kind in Kind.allCases {
                for purpose in Self.purposes {
                    let key = "\(name) \(kind.rawValue) \(purpose)"
                    let decision = policy.detokenizeDecision(identity: identity, kind: kind, purpose: purpose)
                    if let expected = Self.detokenizeGrants[key] {
                        #expect(decision.isAllowed, "\(key): \(decision)")
                        let got = decision.rule.flatMap { rule in
                            decision.reveal.map { Expected(reveal: $0, rule: rule.path, line: rule.line) }
                        }
                        #expect(got == expected, "\(key)")
                        #expect(
                            decision.reason == "allowed by \(expected.rule) (line \(expected.line)), "
                                + "reveal \(expected.reveal.rawValue)"
                        )
                    } else {
                        #expect(!decision.isAllowed, "\(key) should be denied: \(decision)")
                        #expect(decision.reveal == nil && decision.rule == nil, "\(key)")
                        #expect(
                            decision.reason.hasPrefix(
                                "no rule grants detokenize of \(kind.rawValue) "
                                    + "for purpose \(purpose) to identity \(name)"
                            ),
                            "\(key): \(decision.reason)"
                        )
                    }
                    checked += 1
                }
            }
        }
        #expect(checked == 5 * 8 * 6)
    }

    @Test func tokenizeAndEraseMatrix() throws {
        for name in Self.identities {
            let identity = try #require(policy.identity(named: name))
            for kind in Kind.allCases {
                let decision = policy.tokenizeDecision(identity: identity, kind: kind)
                if let expected = Self.tokenizeGrants["\(name) \(kind.rawValue)"] {
                    #expect(decision.isAllowed && decision.reveal == nil)
                    #expect(decision.rule?.path == expected.rule && decision.rule?.line == expected.line)
                } else {
                    #expect(!decision.isAllowed, "\(name) tokenize \(kind.rawValue)")
                    #expect(
                        decision.reason.hasPrefix(
                            "no rule grants tokenize of \(kind.rawValue) to identity \(name)"
                        )
                    )
                }
            }
            let erase = policy.eraseDecision(identity: identity)
            if let expected = Self.eraseGrants[name] {
                #expect(erase.isAllowed && erase.rule?.path == expected.rule && erase.rule?.line == expected.line)
            } else {
                #expect(!erase.isAllowed, "\(name) erase")
                #expect(erase.reason.hasPrefix("no rule grants erase to identity \(name)"))
            }
        }
    }

    @Test func deniedReasonsNameTheRoles() throws {
        let idle = try #require(policy.identity(named: "idle"))
        #expect(
            policy.eraseDecision(identity: idle).description
                == "denied: no rule grants erase to identity idle (roles: nothing)"
        )
        let noRoles = try Policy.parse(yaml: "identities:\n  - {name: x, uid: 9, roles: []}\n")
        let x = try #require(noRoles.identity(uid: 9))
        #expect(
            noRoles.tokenizeDecision(identity: x, kind: .email).reason
                == "no rule grants tokenize of email to identity x (it has no roles)"
        )
    }

    @Test func emptyPolicyDeniesEverything() throws {
        let stranger = try #require(policy.identity(named: "checkout"))
        for kind in Kind.allCases {
            #expect(!Policy.denyAll.tokenizeDecision(identity: stranger, kind: kind).isAllowed)
            for purpose in Self.purposes {
                #expect(!Policy.denyAll.detokenizeDecision(identity: stranger, kind: kind, purpose: purpose).isAllowed)
            }
            #expect(Policy.denyAll.tokenMode(for: kind) == .opaque)
        }
        #expect(!Policy.denyAll.eraseDecision(identity: stranger).isAllowed)
        #expect(Policy.denyAll.identity(uid: 1001) == nil)
        #expect(Policy.denyAll.identity(named: "checkout") == nil)
    }

    @Test func identitiesFromAnotherPolicyAreDenied() throws {
        // Same name, another uid: a stale Identity must not borrow the name's grants.
        let other = try Policy.parse(yaml: "identities: [{name: checkout, uid: 2001, roles: [r]}]\nroles: {r: {}}")
        let impostor = try #require(other.identity(named: "checkout"))
        let decision = policy.detokenizeDecision(identity: impostor, kind: .card, purpose: "charge")
        #expect(!decision.isAllowed)
        #expect(decision.reason == "identity \"checkout\" with uid 2001 is not in the current policy")
        #expect(!policy.tokenizeDecision(identity: impostor, kind: .card).isAllowed)
        #expect(policy.limits(for: impostor) == .defaults)

        // An Identity kept from before a reload gets the new policy's roles, not its old ones.
        let reloaded = try Policy.parse(yaml: "identities: [{name: checkout, uid: 1001, roles: [r]}]\nroles: {r: {}}")
        let old = try #require(policy.identity(named: "checkout"))
        #expect(!reloaded.detokenizeDecision(identity: old, kind: .card, purpose: "charge").isAllowed)
    }

    @Test func limitsCombineToTheMostGenerous() throws {
        func limits(_ name: String) throws -> RoleLimits {
            policy.limits(for: try #require(policy.identity(named: name)))
        }
        #expect(try limits("checkout") == RoleLimits(maxBatch: 256, revealsPerMinute: 600))
        #expect(try limits("helpdesk") == RoleLimits(maxBatch: 1000, revealsPerMinute: 60))
        #expect(try limits("fraud") == RoleLimits(maxBatch: 50, revealsPerMinute: nil))
        // support (1000, 60) and analyst (50, unlimited): the larger batch and the unlimited rate.
        #expect(try limits("lead") == RoleLimits(maxBatch: 1000, revealsPerMinute: nil))
        #expect(try limits("idle") == .defaults)
    }

    @Test func limitsDefaults() throws {
        #expect(RoleLimits.defaults == RoleLimits(maxBatch: 1000, revealsPerMinute: nil))
        let policy = try Policy.parse(
            yaml: """
                identities:
                  - {name: a, uid: 1, roles: [r]}
                  - {name: b, uid: 2, roles: [s]}
                  - {name: c, uid: 3, roles: [t, u]}
                roles:
                  r: {}
                  s: {limits: {}}
                  t: {limits: {max_batch: 10}}
                  u: {limits: {reveals_per_minute: 5}}
                """
        )
        #expect(policy.limits(for: try #require(policy.identity(uid: 1))) == .defaults)
        #expect(policy.limits(for: try #require(policy.identity(uid: 2))) == .defaults)
        #expect(policy.roles["t"]?.limits == RoleLimits(maxBatch: 10, revealsPerMinute: nil))
        #expect(policy.roles["u"]?.limits == RoleLimits(maxBatch: 1000, revealsPerMinute: 5))
        // t (10, unlimited) and u (1000, 5): each figure's most generous.
        let both = try #require(policy.identity(uid: 3))
        #expect(policy.limits(for: both) == RoleLimits(maxBatch: 1000, revealsPerMinute: nil))
    }

    @Test func explainNamesTheWinningRuleAndTheOthers() throws {
        let text = policy.explain(identityName: "lead", kind: .email, purpose: "support")
        #expect(
            text == """
                identity lead: uid 1004, line 14, roles: support, analyst
                detokenize email for purpose "support": allowed, reveals plain
                  granted by roles.analyst.detokenize[1] (line 46)
                  also granted by roles.support.detokenize[0] (line 35), reveal masked
                  the most revealing grant wins (plain over masked)
                tokenize email: denied: no rule grants tokenize of email to identity lead (roles: support, analyst)
                erase: allowed by roles.support.erase (line 38)
                tokens as deterministic (kinds.email)
                limits: max_batch 1000, reveals_per_minute unlimited, misses_per_minute 60
                tokens may carry their own purposes, expiry and reveal count, which narrow this further
                """
        )
    }

    @Test func explainDenials() throws {
        let denied = policy.explain(identityName: "helpdesk", kind: .ssn, purpose: "support")
        #expect(
            denied.contains(
                "detokenize ssn for purpose \"support\": denied\n"
                    + "  no rule grants detokenize of ssn for purpose support to identity helpdesk (roles: support)"
            )
        )
        #expect(denied.contains("tokens as opaque (the default for kinds not listed under kinds:)"))
        #expect(denied.contains("limits: max_batch 1000, reveals_per_minute 60, misses_per_minute 60\n"))

        let idle = policy.explain(identityName: "idle", kind: .card, purpose: "charge")
        #expect(idle.contains("limits: max_batch 1000, reveals_per_minute unlimited, misses_per_minute 60 (defaults)"))

        let unknown = policy.explain(identityName: "nobody", kind: .card, purpose: "charge")
        #expect(
            unknown.hasPrefix(
                "identity \"nobody\": not in the policy "
                    + "(identities: checkout, helpdesk, fraud, lead, idle)\n"
                    + "detokenize card for purpose \"charge\": denied (unknown identity)"
            )
        )
        #expect(
            Policy.denyAll.explain(identityName: "x", kind: .card, purpose: "charge")
                .hasPrefix("identity \"x\": not in the policy (the policy has no identities)")
        )
    }
}
