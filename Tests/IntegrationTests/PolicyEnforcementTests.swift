import Foundation
import Testing

/// The CLI is gated like a socket peer: its uid must be an identity, and the identity's roles decide.
@Suite("cvault commands go through the policy", .sharedVault)
struct PolicyEnforcementTests {
    /// This uid may tokenize emails only, reveal nothing, and not erase.
    static func narrowPolicy(uid: UInt32 = getuid()) -> String {
        """
        identities:
          - name: intake
            uid: \(uid)
            roles: [signup]
        roles:
          signup:
            tokenize: [email]

        """
    }

    @Test("a uid the policy does not name is refused")
    func unknownUID() async throws {
        let vault = try SharedVault.vault()
        let policy = vault.root + "/other-uid.yaml"
        try writePrivateFile(
            policy,
            VaultFixture.fullAccessPolicy(identity: "someone", uid: getuid() == 4242 ? 4243 : 4242)
        )
        let run = try await vault.cvault(
            "tokenize",
            "--kind",
            "email",
            "--subject",
            "cust-uid",
            "--policy",
            policy,
            "ada@example.com"
        )
        #expect(run.status == 1)
        #expect(run.stdout == "")
        #expect(run.errorLines == ["cvault: error: uid \(getuid()) is not an identity in the policy"])
        #expect(run.hintLines == ["cvault: hint: add an identity with this uid to the policy and reload it"])
        expectNoLeak(run, of: ["ada@example.com"], "unknown uid")
    }

    @Test(
        "tokenize of a kind no role grants, reveal for an ungranted purpose, and erase without `erase: true` are denied"
    )
    func narrowRole() async throws {
        let vault = try SharedVault.vault()
        let email = try await vault.tokenize("email", subject: "cust-narrow", ["ada@example.com"])[0]
        let policy = vault.root + "/narrow.yaml"
        try writePrivateFile(policy, Self.narrowPolicy())
        let narrow: [String: String?] = ["CVAULT_POLICY": policy]

        let allowed = try await vault.cvault(
            "tokenize",
            "--kind",
            "email",
            "--subject",
            "cust-narrow",
            "grace@example.org",
            environment: narrow
        )
        #expect(allowed.status == 0, "\(allowed.stderr)")

        let card = try await vault.cvault(
            "tokenize",
            "--kind",
            "card",
            "--subject",
            "cust-narrow",
            "4111 1111 1111 1111",
            environment: narrow
        )
        #expect(card.status == 1)
        #expect(card.stdout == "")
        #expect(card.errorLines == ["cvault: error: intake may not tokenize card values"])
        #expect(card.hintLines == ["cvault: hint: grant `tokenize: [card]` to one of its roles in the policy"])

        let reveal = try await vault.cvault("detokenize", "--purpose", "demo", email, environment: narrow)
        #expect(reveal.status == 1)
        expectLines(reveal, [""], "nothing revealed")
        #expect(reveal.errorLines == ["cvault: error: token 0: denied"])
        expectNoLeak(reveal, of: ["ada@example.com"], "denied reveal")

        let erase = try await vault.cvault("erase", "--subject", "cust-narrow", environment: narrow)
        #expect(erase.status == 1)
        #expect(erase.stdout == "")
        #expect(erase.errorLines == ["cvault: error: intake may not erase subjects"])

        // The denials are audited under the identity's name; the subject's tokens are all still there.
        let export = try await vault.cvault("audit", "export", "--identity", "intake")
        let outcomes = try jsonObjects(export).map { "\($0["event"] ?? "")/\($0["outcome"] ?? "")" }
        // Each offline command first records its policy load (with the policy's hash).
        #expect(
            outcomes == [
                "policy_load/ok", "tokenize/ok", "policy_load/ok", "tokenize/denied", "policy_load/ok", "detokenize/ok",
                "policy_load/ok", "erase/denied",
            ]
        )
        let still = try await vault.cvault("detokenize", "--purpose", "demo", email)
        expectLines(still, ["ada@example.com"], "the refused erase left the subject")
    }
}
