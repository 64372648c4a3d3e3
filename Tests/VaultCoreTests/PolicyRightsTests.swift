import Testing

@testable import VaultCore

/// The policy keys for the customer's rights: `consent_required:`, `restriction_exempt:`, `retention:`, and
/// the role permissions `consent`, `restrict` and `report` (docs/POLICY.md).
@Suite struct PolicyRightsTests {
    /// A role that reveals email for `marketing`, `support` and `legal-hold`, so the lists may name them.
    static func yaml(_ top: String, role extra: String = "") -> String {
        """
        roles:
          crm:
            detokenize:
              - kinds: [email]
                purposes: [marketing, support, legal-hold]
                reveal: masked
        \(extra)
        \(top)

        """
    }

    static let cases: [ProblemCase] = [
        ProblemCase(
            "consent_required not a list",
            at: 8,
            19,
            "consent_required must be a list of purposes, found \"marketing\"",
            yaml("consent_required: marketing")
        ),
        ProblemCase(
            "consent_required empty value",
            at: 8,
            18,
            "consent_required must be a list of purposes, found nothing (write [] for none)",
            yaml("consent_required:")
        ),
        ProblemCase(
            "malformed purpose in consent_required",
            at: 8,
            20,
            "purpose \"Marketing\" must be 1 to 64 characters of a-z, 0-9 and '-'",
            yaml("consent_required: [Marketing]")
        ),
        ProblemCase(
            "consent_required names a purpose no rule uses",
            at: 8,
            31,
            "consent_required names purpose \"marketting\", which no detokenize rule uses "
                + "(purposes: legal-hold, marketing, support)",
            yaml("consent_required: [marketing, marketting]")
        ),
        ProblemCase(
            "restriction_exempt names a purpose no rule uses",
            at: 8,
            22,
            "restriction_exempt names purpose \"legal-hld\", which no detokenize rule uses",
            yaml("restriction_exempt: [legal-hld]")
        ),
        ProblemCase(
            "consent_required with no rules at all",
            at: 1,
            20,
            "consent_required names purpose \"marketing\", which no detokenize rule uses (no rule reveals anything)",
            "consent_required: [marketing]\n"
        ),
        ProblemCase(
            "a purpose both consent-required and exempt",
            at: 9,
            34,
            "purpose \"marketing\" is both consent_required (line 8) and restriction_exempt",
            yaml("consent_required: [marketing]\nrestriction_exempt: [legal-hold, marketing]")
        ),
        ProblemCase(
            "retention not a mapping",
            at: 8,
            12,
            "retention must be a mapping of key: value, found a list",
            yaml("retention: [email]")
        ),
        ProblemCase(
            "retention of an unknown kind",
            at: 8,
            13,
            "unknown kind \"emial\"",
            yaml("retention: {emial: 30d}")
        ),
        ProblemCase("retention of zero", at: 8, 20, "found \"0d\"", yaml("retention: {email: 0d}")),
        ProblemCase("negative retention", at: 8, 20, "found \"-5d\"", yaml("retention: {email: -5d}")),
        ProblemCase("retention without a unit", at: 8, 20, "found \"90\"", yaml("retention: {email: 90}")),
        ProblemCase("retention in weeks", at: 8, 20, "found \"2w\"", yaml("retention: {email: 2w}")),
        ProblemCase("retention with a leading zero", at: 8, 20, "found \"090d\"", yaml("retention: {email: 090d}")),
        ProblemCase("retention with a space", at: 8, 20, "found \"90 d\"", yaml("retention: {email: 90 d}")),
        ProblemCase("quoted retention", at: 8, 20, "found the quoted string", yaml("retention: {email: \"90d\"}")),
        ProblemCase(
            "retention over 100 years",
            at: 8,
            20,
            "must be a positive whole number of days, hours, minutes or seconds (d, h, m or s), such as 730d, "
                + "at most 36500d, found \"36501d\"",
            yaml("retention: {email: 36501d}")
        ),
        ProblemCase(
            "retention that overflows when multiplied",
            at: 8,
            20,
            "found \"9223372036854775807d\"",
            yaml("retention: {email: 9223372036854775807d}")
        ),
        ProblemCase(
            "retention too long to be a number",
            at: 8,
            20,
            "found \"99999999999999999999s\"",
            yaml("retention: {email: 99999999999999999999s}")
        ),
        ProblemCase(
            "retention named twice",
            at: 8,
            24,
            "duplicate key \"email\" in retention (first at line 8)",
            yaml("retention: {email: 1d, email: 2d}")
        ),
        ProblemCase(
            "consent permission not a boolean",
            at: 7,
            14,
            "roles.crm.consent must be true or false, found \"yes\"",
            yaml("", role: "    consent: yes")
        ),
        ProblemCase(
            "restrict permission quoted",
            at: 7,
            15,
            "roles.crm.restrict must be true or false, found the quoted string \"true\"",
            yaml("", role: "    restrict: \"true\"")
        ),
        ProblemCase(
            "report permission empty",
            at: 7,
            12,
            "roles.crm.report must be true or false, found nothing",
            yaml("", role: "    report:")
        ),
        ProblemCase(
            "misspelt permission",
            at: 7,
            5,
            "unknown key \"consnet\" in roles.crm (did you mean \"consent\"?",
            yaml("", role: "    consnet: true")
        ),
    ]

    @Test(arguments: cases)
    func reportsTheProblemAtItsLine(_ testCase: ProblemCase) {
        testCase.expectExactlyThisProblem()
    }

    @Test func theListsAndRetentionAreRead() throws {
        let policy = try Policy.parse(
            yaml: Self.yaml(
                """
                consent_required: [marketing, marketing]
                restriction_exempt: [legal-hold]
                retention: {email: 730d, card: 36h, text: 90m, name: 45s, date: 36500d}
                """
            )
        )
        #expect(policy.consentRequired == ["marketing"])
        #expect(policy.restrictionExempt == ["legal-hold"])
        #expect(policy.needsConsent("marketing"))
        #expect(!policy.needsConsent("support"))
        #expect(policy.isRestrictionExempt("legal-hold"))
        #expect(!policy.isRestrictionExempt("marketing"))
        #expect(policy.retention(for: .email) == Int64(730 * 86_400))
        #expect(policy.retention(for: .card) == Int64(36 * 3_600))
        #expect(policy.retention(for: .text) == Int64(90 * 60))
        #expect(policy.retention(for: .name) == 45)
        #expect(policy.retention(for: .date) == Policy.maxRetentionSeconds)
        #expect(policy.retention(for: .phone) == nil)
    }

    @Test func emptyListsAndMappingGrantNothingAndKeepEverything() throws {
        let policy = try Policy.parse(yaml: Self.yaml("consent_required: []\nrestriction_exempt: []\nretention: {}"))
        #expect(policy.consentRequired.isEmpty && policy.restrictionExempt.isEmpty && policy.retention.isEmpty)
        for kind in Kind.allCases { #expect(policy.retention(for: kind) == nil) }
    }

    @Test func denyAllHasNoneOfThem() {
        let policy = Policy.denyAll
        #expect(policy.consentRequired.isEmpty && policy.restrictionExempt.isEmpty && policy.retention.isEmpty)
    }

    // MARK: - Decisions

    static let permissions = """
        identities:
          - name: prefs
            uid: 3001
            roles: [preferences]
          - name: dpo
            uid: 3002
            roles: [none, privacy]
          - name: shop
            uid: 3003
            roles: [none]
        roles:
          none:
            consent: false
          preferences:
            consent: true
          privacy:
            restrict: true
            report: true
            erase: true

        """

    typealias Decide = @Sendable (Policy, Policy.Identity) -> PolicyDecision

    static let decisions: [(String, Decide)] = [
        ("consent", { $0.consentDecision(identity: $1) }),
        ("restrict", { $0.restrictDecision(identity: $1) }),
        ("report", { $0.reportDecision(identity: $1) }),
        ("erase", { $0.eraseDecision(identity: $1) }),
    ]

    /// Allowed only where a role says `true`, naming `roles.NAME.KEY` at its line; denied otherwise, with
    /// the identity's roles; `false` is the same as leaving the key out.
    @Test func permissionsAreDeniedUnlessARoleGrantsThem() throws {
        let policy = try Policy.parse(yaml: Self.permissions)
        let granted: [String: PolicyDecision.Rule] = [
            "prefs consent": PolicyDecision.Rule(path: "roles.preferences.consent", line: 15),
            "dpo restrict": PolicyDecision.Rule(path: "roles.privacy.restrict", line: 17),
            "dpo report": PolicyDecision.Rule(path: "roles.privacy.report", line: 18),
            "dpo erase": PolicyDecision.Rule(path: "roles.privacy.erase", line: 19),
        ]
        for name in ["prefs", "dpo", "shop"] {
            let identity = try #require(policy.identity(named: name))
            for (key, decide) in Self.decisions {
                let decision = decide(policy, identity)
                if let rule = granted["\(name) \(key)"] {
                    #expect(decision.isAllowed && decision.rule == rule && decision.reveal == nil, "\(name) \(key)")
                    #expect(decision.reason == "allowed by \(rule)")
                } else {
                    #expect(!decision.isAllowed && decision.rule == nil, "\(name) \(key)")
                    let roles = identity.roles.joined(separator: ", ")
                    #expect(decision.reason == "no rule grants \(key) to identity \(name) (roles: \(roles))")
                }
            }
        }
        let none = try #require(policy.roles["none"])
        #expect(!none.consent && none.consentLine == 13)
        #expect(!none.restrict && none.restrictLine == 0 && !none.report && none.reportLine == 0)
    }

    @Test func anIdentityOutsideThePolicyIsDeniedEveryPermission() throws {
        let policy = try Policy.parse(yaml: Self.permissions)
        let prefs = try #require(policy.identity(named: "prefs"))
        for (key, decide) in Self.decisions {
            let decision = decide(Policy.denyAll, prefs)
            #expect(!decision.isAllowed, "\(key)")
            #expect(decision.reason.contains("is not in the current policy"))
        }
    }

    // MARK: - explain

    @Test func explainSaysWhenAPurposeNeedsConsentOrIsExempt() throws {
        let policy = try Policy.parse(
            yaml: Self.yaml(
                "consent_required: [marketing]\nrestriction_exempt: [legal-hold]\n"
                    + "identities:\n  - name: crm\n    uid: 3100\n    roles: [crm]"
            )
        )
        let marketing = policy.explain(identityName: "crm", kind: .email, purpose: "marketing").split(separator: "\n")
        #expect(marketing[1] == "detokenize email for purpose \"marketing\": allowed, reveals masked")
        #expect(marketing[3] == "  and the subject must hold a current consent grant for marketing (consent_required)")
        let hold = policy.explain(identityName: "crm", kind: .email, purpose: "legal-hold").split(separator: "\n")
        #expect(hold[3] == "  and is allowed for a restricted subject too (restriction_exempt)")
        let support = policy.explain(identityName: "crm", kind: .email, purpose: "support")
        #expect(!support.contains("consent") && !support.contains("restrict"))
    }
}
