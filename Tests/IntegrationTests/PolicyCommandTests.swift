import Foundation
import Testing
import VaultTestSupport

/// `cvault policy check` and `policy explain`, on the examples of docs/POLICY.md, whose printed output the
/// tests hold the commands to. Neither command opens a vault.
@Suite("cvault policy check and explain")
struct PolicyCommandTests {
    /// docs/POLICY.md, "A complete example".
    static let complete = PolicyExamples.complete

    /// docs/POLICY.md, "Checking a policy": six mistakes.
    static let broken = """
        kinds:
          email: deterministic
          name: format-preserving
        identities:
          - name: checkout
            uid: 1001
            roles: [payment]
          - name: helpdesk
            uid: 1001
            roles: [support]
        roles:
          payments:
            detokenise:
              - kinds: [card]
                purposes: [charge]
                reveal: plain
          support:
            erase: yes
            limits: { max_batch: 0 }

        """

    /// docs/POLICY.md, "Several roles".
    static let twoRoles = """
        identities:
          - name: lead
            uid: 1004
            roles: [support, analyst]
        roles:
          support:
            detokenize:
              - kinds: [email, phone]
                purposes: [support]
                reveal: masked
            limits: { reveals_per_minute: 60 }
          analyst:
            detokenize:
              - kinds: [email]
                purposes: [support, fraud-review]
                reveal: plain
            limits: { max_batch: 50 }

        """

    /// `cvault policy explain` for one identity, kind and purpose, the policy from CVAULT_POLICY.
    static func explain(
        in folder: VaultFixture,
        _ identity: String,
        _ kind: String,
        _ purpose: String
    )
        async throws -> CVaultRun
    {
        try await folder.cvault("policy", "explain", "--identity", identity, "--kind", kind, "--purpose", purpose)
    }

    /// Writes `yaml` as `policy.yaml` in a fresh folder and runs `cvault ARGS` there (no vault, no passphrase).
    func inPolicyFolder(_ yaml: String, _ body: (VaultFixture) async throws -> Void) async throws {
        try await VaultFixture.with(initialized: false, policy: yaml) { folder in try await body(folder) }
    }

    @Test("a valid file: exit 0, nothing on standard error")
    func checkValidFile() async throws {
        try await inPolicyFolder(Self.complete) { folder in
            let run = try await folder.cvault("policy", "check", "policy.yaml")
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr == "")
            #expect(run.lines == ["policy.yaml: ok (4 identities, 4 roles)"])
        }
    }

    @Test("a broken file: exit 1, every problem as FILE:LINE:COLUMN: message, in file order")
    func checkBrokenFile() async throws {
        try await inPolicyFolder(Self.broken) { folder in
            let run = try await folder.cvault("policy", "check", "policy.yaml")
            #expect(run.status == 1)
            #expect(run.stdout == "")
            let problems = run.stderr.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("cvault: ") }
            #expect(
                problems == [
                    "policy.yaml:3:9: token mode format-preserving is not available for kind name (only for email, phone, card, ssn)",
                    "policy.yaml:7:13: identities[0].roles names unknown role \"payment\" (roles: payments, support)",
                    "policy.yaml:9:10: uid 1001 is already used by identity \"checkout\" (line 5); the socket peer's uid must pick one identity",
                    "policy.yaml:13:5: unknown key \"detokenise\" in roles.payments (did you mean \"detokenize\"? keys: tokenize, detokenize, erase, limits, consent, restrict, report)",
                    "policy.yaml:18:12: roles.support.erase must be true or false, found \"yes\"",
                    "policy.yaml:19:26: roles.support.limits.max_batch must be an integer from 1 to 1000000, found \"0\"",
                ]
            )
            #expect(run.errorLines == ["cvault: error: policy.yaml has 6 problem(s)"])
            #expect(run.hintLines.count == 1)

            // The same file named by its absolute path: the problems name that path.
            let absolute = try await folder.cvault("policy", "check", folder.policy)
            #expect(absolute.status == 1)
            #expect(absolute.stderr.hasPrefix("\(folder.policy):3:9: token mode format-preserving"))
        }
    }

    @Test("a missing file: exit 1 naming it")
    func checkMissingFile() async throws {
        try await inPolicyFolder(Self.complete) { folder in
            let run = try await folder.cvault("policy", "check", "nowhere.yaml")
            #expect(run.status == 1)
            #expect(run.errorLines == ["cvault: error: cannot read policy file nowhere.yaml"])
        }
    }

    @Test("explain prints the decision, the rule that made it, and what else applies")
    func explainAllowedAndDenied() async throws {
        try await inPolicyFolder(Self.complete) { folder in
            let allowed = try await folder.cvault(
                "policy",
                "explain",
                "--policy",
                "policy.yaml",
                "--identity",
                "checkout",
                "--kind",
                "card",
                "--purpose",
                "charge"
            )
            #expect(allowed.status == 0, "\(allowed.stderr)")
            #expect(
                allowed.lines == [
                    "identity checkout: uid 1001, line 5, roles: payments",
                    "detokenize card for purpose \"charge\": allowed, reveals plain",
                    "  granted by roles.payments.detokenize[0] (line 21)",
                    "tokenize card: allowed by roles.payments.tokenize (line 19)",
                    "erase: denied: no rule grants erase to identity checkout (roles: payments)",
                    "tokens as format-preserving (kinds.card)",
                    "limits: max_batch 1000, reveals_per_minute unlimited, misses_per_minute 60 (defaults)",
                    "tokens may carry their own purposes, expiry and reveal count, which narrow this further",
                ]
            )

            // CVAULT_POLICY works as well as --policy.
            let denied = try await folder.cvault(
                "policy",
                "explain",
                "--identity",
                "helpdesk",
                "--kind",
                "card",
                "--purpose",
                "charge",
                environment: ["CVAULT_POLICY": folder.policy]
            )
            #expect(denied.status == 0, "\(denied.stderr)")
            #expect(
                denied.lines == [
                    "identity helpdesk: uid 1002, line 8, roles: support",
                    "detokenize card for purpose \"charge\": denied",
                    "  no rule grants detokenize of card for purpose charge to identity helpdesk (roles: support)",
                    "tokenize card: denied: no rule grants tokenize of card to identity helpdesk (roles: support)",
                    "erase: allowed by roles.support.erase (line 37)",
                    "tokens as format-preserving (kinds.card)",
                    "limits: max_batch 1000, reveals_per_minute unlimited, misses_per_minute 60 (defaults)",
                    "tokens may carry their own purposes, expiry and reveal count, which narrow this further",
                ]
            )

            let unknown = try await folder.cvault(
                "policy",
                "explain",
                "--policy",
                "policy.yaml",
                "--identity",
                "nobody",
                "--kind",
                "email",
                "--purpose",
                "support"
            )
            #expect(unknown.status == 0)
            #expect(
                unknown.lines.first
                    == "identity \"nobody\": not in the policy (identities: checkout, helpdesk, newsletter, prefcentre)"
            )
            #expect(unknown.lines.dropFirst().allSatisfy { $0.hasSuffix("denied (unknown identity)") })
        }
    }

    @Test("explain says when the purpose needs consent or is exempt from restriction")
    func explainConsentAndExemption() async throws {
        try await inPolicyFolder(Self.complete) { folder in
            let expected = [
                ["newsletter", "email", "marketing"]: [
                    "identity newsletter: uid 1003, line 11, roles: marketing",
                    "detokenize email for purpose \"marketing\": allowed, reveals plain",
                    "  granted by roles.marketing.detokenize[0] (line 42)",
                    "  and the subject must hold a current consent grant for marketing (consent_required)",
                ],
                ["helpdesk", "card", "legal-hold"]: [
                    "identity helpdesk: uid 1002, line 8, roles: support",
                    "detokenize card for purpose \"legal-hold\": allowed, reveals plain",
                    "  granted by roles.support.detokenize[1] (line 34)",
                    "  and is allowed for a restricted subject too (restriction_exempt)",
                ],
            ]
            for (asked, lines) in expected {
                let run = try await Self.explain(in: folder, asked[0], asked[1], asked[2])
                #expect(run.status == 0, "\(run.stderr)")
                #expect(Array(run.lines.prefix(4)) == lines)
            }
        }
    }

    @Test("explain with two granting rules names both; the most revealing wins")
    func explainTwoRoles() async throws {
        try await inPolicyFolder(Self.twoRoles) { folder in
            let run = try await folder.cvault(
                "policy",
                "explain",
                "--policy",
                "policy.yaml",
                "--identity",
                "lead",
                "--kind",
                "email",
                "--purpose",
                "support"
            )
            #expect(run.status == 0, "\(run.stderr)")
            #expect(
                Array(run.lines.prefix(5)) == [
                    "identity lead: uid 1004, line 2, roles: support, analyst",
                    "detokenize email for purpose \"support\": allowed, reveals plain",
                    "  granted by roles.analyst.detokenize[0] (line 14)",
                    "  also granted by roles.support.detokenize[0] (line 8), reveal masked",
                    "  the most revealing grant wins (plain over masked)",
                ]
            )
        }
    }

    @Test("explain with an unknown kind names the valid kinds")
    func explainUnknownKind() async throws {
        try await inPolicyFolder(Self.complete) { folder in
            let run = try await folder.cvault(
                "policy",
                "explain",
                "--policy",
                "policy.yaml",
                "--identity",
                "checkout",
                "--kind",
                "iban",
                "--purpose",
                "charge"
            )
            #expect(run.status == 1)
            #expect(run.errorLines == ["cvault: error: unknown kind \"iban\""])
            #expect(run.hintLines == ["cvault: hint: use one of: email, phone, card, ssn, name, address, date, text"])
        }
    }
}
