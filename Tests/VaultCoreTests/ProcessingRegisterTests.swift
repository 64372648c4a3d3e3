import Foundation
import Testing

@testable import VaultCore

/// The record of processing (`ProcessingRegister`), built from the policy the vault enforces.
@Suite struct ProcessingRegisterTests {
    /// The first ```yaml block of docs/POLICY.md, "A complete example", read from the file itself so the
    /// register shown in the docs cannot drift from the example.
    static func docsExample() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let docs = try String(contentsOf: root.appendingPathComponent("docs/POLICY.md"), encoding: .utf8)
        let block = try #require(docs.components(separatedBy: "```yaml\n").dropFirst().first)
        return try #require(block.components(separatedBy: "```").first)
    }

    /// Written out by hand from the example: who may tokenize and reveal each kind it names, how, and why.
    static let expectedText = """
        record of processing (GDPR Art. 30), generated from the policy the vault enforces
        purposes that need the subject's consent: marketing
        purposes exempt from restriction: legal-hold

        email
          token: deterministic; holding tokens reveals equality and frequency: anyone holding two tokens of one scope learns whether the values are equal, and can count how often a value occurs; not the value
          retention: 730d
          tokenized by: role payments (checkout)
          revealed masked to role payments (checkout) for receipt
          revealed plain to role support (helpdesk) for legal-hold (exempt from restriction)
          revealed masked to role support (helpdesk) for support
          revealed plain to role marketing (newsletter) for marketing (needs consent)

        phone
          token: opaque; holding tokens reveals nothing: a new token every call, unrelated to the value and to other tokens
          retention: kept until erased
          tokenized by: nobody
          revealed masked to role support (helpdesk) for support

        card
          token: format-preserving; holding tokens reveals the last four digits (as much as the mask)
          retention: 400d
          tokenized by: role payments (checkout)
          revealed plain to role payments (checkout) for charge, refund
          revealed plain to role support (helpdesk) for legal-hold (exempt from restriction)

        name
          token: opaque; holding tokens reveals nothing: a new token every call, unrelated to the value and to other tokens
          retention: kept until erased
          tokenized by: role payments (checkout)
          revealed plain to role support (helpdesk) for legal-hold (exempt from restriction)
          revealed masked to role support (helpdesk) for support

        text
          token: opaque; holding tokens reveals nothing: a new token every call, unrelated to the value and to other tokens
          retention: 90d
          tokenized by: nobody
          revealed to: nobody

        may erase a subject: role support (helpdesk)
        may record consent: role preferences (prefcentre)
        may restrict a subject: role support (helpdesk)
        may report on a subject: role support (helpdesk)
        """

    /// The same register as JSON, written compactly here (one reveal a line) and compared as JSON values:
    /// the pretty layout is `JSONWriter`'s, tested with it.
    static let expectedJSON = """
        {
        "consent_required": ["marketing"], "restriction_exempt": ["legal-hold"],
        "kinds": [
          {"kind": "email", "token_mode": "deterministic", "retention_seconds": 63072000,
           "token_reveals": "equality and frequency: anyone holding two tokens of one scope learns whether the values are equal, and can count how often a value occurs; not the value",
           "tokenized_by": [{"role": "payments", "identities": ["checkout"]}],
           "revealed_to": [
             {"role": "payments", "identities": ["checkout"], "reveal": "masked", "purposes": ["receipt"], "consent_required": [], "restriction_exempt": []},
             {"role": "support", "identities": ["helpdesk"], "reveal": "plain", "purposes": ["legal-hold"], "consent_required": [], "restriction_exempt": ["legal-hold"]},
             {"role": "support", "identities": ["helpdesk"], "reveal": "masked", "purposes": ["support"], "consent_required": [], "restriction_exempt": []},
             {"role": "marketing", "identities": ["newsletter"], "reveal": "plain", "purposes": ["marketing"], "consent_required": ["marketing"], "restriction_exempt": []}
          ]},
          {"kind": "phone", "token_mode": "opaque", "retention_seconds": null,
           "token_reveals": "nothing: a new token every call, unrelated to the value and to other tokens",
           "tokenized_by": [],
           "revealed_to": [
             {"role": "support", "identities": ["helpdesk"], "reveal": "masked", "purposes": ["support"], "consent_required": [], "restriction_exempt": []}
          ]},
          {"kind": "card", "token_mode": "format-preserving", "retention_seconds": 34560000,
           "token_reveals": "the last four digits (as much as the mask)",
           "tokenized_by": [{"role": "payments", "identities": ["checkout"]}],
           "revealed_to": [
             {"role": "payments", "identities": ["checkout"], "reveal": "plain", "purposes": ["charge", "refund"], "consent_required": [], "restriction_exempt": []},
             {"role": "support", "identities": ["helpdesk"], "reveal": "plain", "purposes": ["legal-hold"], "consent_required": [], "restriction_exempt": ["legal-hold"]}
          ]},
          {"kind": "name", "token_mode": "opaque", "retention_seconds": null,
           "token_reveals": "nothing: a new token every call, unrelated to the value and to other tokens",
           "tokenized_by": [{"role": "payments", "identities": ["checkout"]}],
           "revealed_to": [
             {"role": "support", "identities": ["helpdesk"], "reveal": "plain", "purposes": ["legal-hold"], "consent_required": [], "restriction_exempt": ["legal-hold"]},
             {"role": "support", "identities": ["helpdesk"], "reveal": "masked", "purposes": ["support"], "consent_required": [], "restriction_exempt": []}
          ]},
          {"kind": "text", "token_mode": "opaque", "retention_seconds": 7776000,
           "token_reveals": "nothing: a new token every call, unrelated to the value and to other tokens",
           "tokenized_by": [],
           "revealed_to": [
          ]}
        ],
        "permissions": {
          "erase": [{"role": "support", "identities": ["helpdesk"]}],
          "consent": [{"role": "preferences", "identities": ["prefcentre"]}],
          "restrict": [{"role": "support", "identities": ["helpdesk"]}],
          "report": [{"role": "support", "identities": ["helpdesk"]}]
        }}
        """

    @Test func theDocsExampleGivesExactlyThisRegister() throws {
        let register = ProcessingRegister(policy: try Policy.parse(yaml: try Self.docsExample()))
        #expect(register.text == Self.expectedText)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(register.json.utf8)) as? NSDictionary)
        let expected = try #require(
            try JSONSerialization.jsonObject(with: Data(Self.expectedJSON.utf8)) as? NSDictionary
        )
        #expect(json.isEqual(expected), "\(register.json)")
        #expect(register.json.hasPrefix("{\n  \"consent_required\" : [\n    \"marketing\"\n  ],\n"))
    }

    /// docs/OPERATIONS.md shows the register of the same example; it must be this one.
    @Test func theRunbookShowsThisRegister() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let runbook = try String(contentsOf: root.appendingPathComponent("docs/OPERATIONS.md"), encoding: .utf8)
        let after = try #require(
            runbook.components(separatedBy: "$ cvault policy register --policy policy.yaml\n").dropFirst().first
        )
        #expect(after.components(separatedBy: "```").first == Self.expectedText + "\n")
    }

    /// Where two rules of one role grant the same kind and purpose, the register shows the mode the gate
    /// decides (the most revealing); a role no identity holds is listed as such; a kind named only under
    /// `retention:` is listed; kinds no rule names are left out.
    @Test func theRegisterShowsWhatTheGateDecides() throws {
        let policy = try Policy.parse(
            yaml: """
                identities:
                  - name: ops
                    uid: 4001
                    roles: [b-role]
                roles:
                  b-role:
                    detokenize:
                      - kinds: [phone]
                        purposes: [support, callback]
                        reveal: masked
                      - kinds: [phone]
                        purposes: [callback]
                        reveal: plain
                  a-role:
                    tokenize: [phone]
                    erase: true
                retention: {address: 12h}

                """
        )
        let register = ProcessingRegister(policy: policy)
        #expect(register.kinds.map(\.kind) == [.phone, .address])
        let phone = try #require(register.kinds.first)
        #expect(
            phone.revealedTo.map { "\($0.holder.role) \($0.mode.rawValue) \($0.purposes)" } == [
                "b-role plain [callback]", "b-role masked [support]",
            ]
        )
        #expect(phone.revealedTo.allSatisfy { $0.holder.identities == ["ops"] })
        // File order, not name order: b-role is written first.
        #expect(phone.tokenizedBy == [ProcessingRegister.Holder(role: "a-role", identities: [])])
        #expect(register.erase.map(\.role) == ["a-role"])
        #expect(register.consent.isEmpty && register.restrict.isEmpty && register.report.isEmpty)
        #expect(register.kinds[1].retentionSeconds == Int64(12 * 3_600))
        #expect(register.text.contains("\naddress\n  token: opaque;"))
        #expect(register.text.contains("  retention: 12h\n  tokenized by: nobody\n  revealed to: nobody"))
        #expect(register.text.contains("  tokenized by: role a-role (no identity)\n"))
        #expect(
            register.text.hasSuffix(
                "may erase a subject: role a-role (no identity)\nmay record consent: nobody"
                    + "\nmay restrict a subject: nobody\nmay report on a subject: nobody"
            )
        )
    }

    @Test func anEmptyPolicyHasAnEmptyRegister() {
        let register = ProcessingRegister(policy: .denyAll)
        #expect(register.kinds.isEmpty && register.erase.isEmpty)
        #expect(
            register.text
                == """
                record of processing (GDPR Art. 30), generated from the policy the vault enforces
                purposes that need the subject's consent: none
                purposes exempt from restriction: none

                may erase a subject: nobody
                may record consent: nobody
                may restrict a subject: nobody
                may report on a subject: nobody
                """
        )
    }

    /// The token disclosure is `TokenMode.disclosure(for:)`, the wording of docs/DESIGN.md's token table.
    @Test func eachTokenModeSaysWhatItGivesAway() throws {
        let design = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("docs/DESIGN.md"),
            encoding: .utf8
        )
        #expect(design.contains("`TokenMode.disclosure(for:)`"))
        #expect(TokenMode.opaque.disclosure(for: .email).hasPrefix("nothing"))
        #expect(TokenMode.deterministic.disclosure(for: .name).hasPrefix("equality and frequency"))
        #expect(TokenMode.formatPreserving.disclosure(for: .card) == "the last four digits (as much as the mask)")
        #expect(TokenMode.formatPreserving.disclosure(for: .ssn) == "only the kind")
    }

    @Test(arguments: [(Int64(63_072_000), "730d"), (129_600, "36h"), (5_400, "90m"), (45, "45s"), (90_061, "90061s")])
    func durationsUseTheLargestUnitThatDivides(_ seconds: Int64, _ text: String) {
        #expect(ProcessingRegister.duration(seconds) == text)
    }
}
