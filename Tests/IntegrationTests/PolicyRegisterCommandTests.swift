import Foundation
import Testing
import VaultCore
import VaultTestSupport

/// `cvault policy register`: the record of processing, printed by the real binary from a policy file. What
/// the register holds is pinned in VaultCoreTests (`ProcessingRegisterTests`); here the command must print
/// exactly the domain's register for the file it is given, in text and JSON, and refuse a broken file.
@Suite("cvault policy register")
struct PolicyRegisterCommandTests {
    @Test("text and --json are the register of the file, as --policy or CVAULT_POLICY")
    func printsTheRegisterOfTheFile() async throws {
        let register = ProcessingRegister(policy: try Policy.parse(yaml: PolicyExamples.complete))
        try await VaultFixture.with(initialized: false, policy: PolicyExamples.complete) { folder in
            let text = try await folder.cvault("policy", "register", "--policy", "policy.yaml")
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stderr == "")
            #expect(text.stdout == register.text + "\n")
            #expect(
                text.lines.contains("  revealed plain to role marketing (newsletter) for marketing (needs consent)")
            )

            let json = try await folder.cvault(
                "policy",
                "register",
                "--json",
                environment: ["CVAULT_POLICY": folder.policy]
            )
            #expect(json.status == 0, "\(json.stderr)")
            #expect(json.stdout == register.json + "\n")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            )
            #expect(object["consent_required"] as? [String] == ["marketing"])
            let kinds = try #require(object["kinds"] as? [[String: Any]])
            #expect(kinds.compactMap { $0["kind"] as? String } == ["email", "phone", "card", "name", "text"])
        }
    }

    @Test("a policy with a problem is refused with its line, and nothing is printed")
    func refusesABrokenPolicy() async throws {
        let broken = PolicyExamples.complete.replacingOccurrences(
            of: "consent_required: [marketing]",
            with: "consent_required: [marketing, newsletters]"
        )
        try await VaultFixture.with(initialized: false, policy: broken) { folder in
            let run = try await folder.cvault("policy", "register", "--policy", "policy.yaml")
            #expect(run.status != 0)
            #expect(run.stdout == "")
            #expect(
                run.stderr.contains(
                    "policy.yaml:47:31: consent_required names purpose \"newsletters\", which no detokenize rule uses"
                )
            )
        }
    }

    @Test("without a policy file it says how to give one")
    func needsAPolicy() async throws {
        try await VaultFixture.with(initialized: false, policy: PolicyExamples.complete) { folder in
            let run = try await folder.cvault("policy", "register", environment: ["CVAULT_POLICY": nil])
            #expect(run.status != 0)
            #expect(run.stdout == "")
            #expect(run.errorLines == ["cvault: error: no policy file: without one cvault denies everything"])
        }
    }
}
