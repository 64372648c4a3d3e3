import Testing
import VaultTestSupport

@testable import VaultCore

/// Restriction of processing (GDPR Art. 18) through the vault: while restricted, every reveal is `restricted`
/// except for the policy's `restriction_exempt` purposes; and the order in which a token's checks are named.
@Suite struct VaultRestrictionTests {
    static let email = "ada@example.com"

    @Test func aRestrictedSubjectIsRevealedOnlyForAnExemptPurpose() async throws {
        let clock = TestClock()
        try await withVault(rightsYAML(), clock: clock) { t in
            let svc = try t.caller(RightsUID.service)
            let dpo = try t.caller(RightsUID.dpo)
            let restricted = try await t.tokenize(.email, [Self.email], subject: "cust-42", as: svc)
            let other = try await t.tokenize(.name, ["Grace Hopper"], subject: "cust-7", as: svc)

            let held = try await t.vault.restrict(subject: "cust-42", reason: "accuracy-contested", caller: dpo)
            #expect(held == Restriction(since: clock.now, reason: "accuracy-contested"))
            expectItems(
                try await t.vault.detokenize(restricted + other, purpose: "view", caller: svc),
                [.error(.restricted), .value("Grace Hopper", .plain)]
            )
            expectItems(
                try await t.vault.detokenize(restricted, purpose: "legal-hold", caller: svc),
                [.value(Self.email, .plain)],
                "an exempt purpose:"
            )

            // Restricting again keeps the first restriction.
            clock.advance(by: 60)
            let again = try await t.vault.restrict(subject: "cust-42", reason: "objection", caller: dpo)
            #expect(again == held)

            #expect(try await t.vault.unrestrict(subject: "cust-42", caller: dpo))
            expectItems(
                try await t.vault.detokenize(restricted, purpose: "view", caller: svc),
                [.value(Self.email, .plain)]
            )
            #expect(try await t.vault.unrestrict(subject: "cust-42", caller: dpo) == false, "nothing left to lift")

            let items = try await t.auditEvents(.detokenize).compactMap { $0.items?.map(\.decision) }
            #expect(items == [[.restricted, .plain], [.plain], [.plain]])
            let restricts = try await t.auditEvents(.subjectRestrict)
            #expect(
                restricts.map(\.detail) == [
                    "reason accuracy-contested",
                    "reason objection, already restricted since \(VaultClock.iso8601(held.since))",
                ]
            )
            let lifts = try await t.auditEvents(.subjectUnrestrict)
            #expect(lifts.map(\.detail) == ["restricted since \(VaultClock.iso8601(held.since))", "not restricted"])
            let ref = t.keyring.subjectReference("cust-42")
            #expect(
                (restricts + lifts).allSatisfy { $0.subjectRefs == [ref] && $0.outcome == .ok && $0.identity == "dpo" }
            )
        }
    }

    @Test func aSubjectRestrictedBeforeItsDataIsRestrictedFromTheStart() async throws {
        try await withVault(rightsYAML()) { t in
            let svc = try t.caller(RightsUID.service)
            let dpo = try t.caller(RightsUID.dpo)
            _ = try await t.vault.restrict(subject: "cust-later", reason: "objection", caller: dpo)
            let known = try #require(try await t.store.read { try $0.subject(named: "cust-later") })
            #expect(!known.hasDataKey && known.restriction != nil)
            let token = try await t.tokenize(.email, [Self.email], subject: "cust-later", as: svc)
            expectItems(try await t.vault.detokenize(token, purpose: "view", caller: svc), [.error(.restricted)])
            #expect(try await t.vault.unrestrict(subject: "cust-never", caller: dpo) == false)
            #expect(try await t.store.read { try $0.subject(named: "cust-never") } == nil, "lifting creates nothing")
        }
    }

    @Test func onlyARestrictRoleMayRestrictAndEachRefusalIsAudited() async throws {
        try await withVault(rightsYAML()) { t in
            let svc = try t.caller(RightsUID.service)
            let prefs = try t.caller(RightsUID.preferences)
            let token = try await t.tokenize(.email, [Self.email], subject: "cust-42", as: svc)
            for caller in [svc, prefs] {
                let error = await vaultError {
                    _ = try await t.vault.restrict(subject: "cust-42", reason: "x", caller: caller)
                }
                #expect(error?.code == .denied)
                #expect(error?.hint?.contains("restrict: true") == true)
                let lift = await vaultError { _ = try await t.vault.unrestrict(subject: "cust-42", caller: caller) }
                #expect(lift?.code == .denied)
            }
            expectItems(try await t.vault.detokenize(token, purpose: "view", caller: svc), [.value(Self.email, .plain)])
            let refused = try await t.auditEvents(.subjectRestrict) + t.auditEvents(.subjectUnrestrict)
            #expect(refused.count == 4)
            #expect(refused.allSatisfy { $0.outcome == .denied && $0.reason == "denied by policy" })
            #expect(refused.allSatisfy { $0.subjectRefs == [t.keyring.subjectReference("cust-42")] })
        }
    }

    /// not_found, then denied (policy or the token's limits), then restricted, then no_consent.
    @Test func theFirstCheckThatFailsNamesTheItem() async throws {
        try await withVault(rightsYAML()) { t in
            let svc = try t.caller(RightsUID.service)
            let dpo = try t.caller(RightsUID.dpo)
            let newsletter = try t.caller(RightsUID.newsletter)
            let prefs = try t.caller(RightsUID.preferences)
            let nobody = try t.caller(RightsUID.nobody)
            let email = try await t.tokenize(.email, [Self.email], subject: "cust-42", as: svc)
            let name = try await t.tokenize(.name, ["Ada Lovelace"], subject: "cust-42", as: svc)
            var viewOnly = TokenizeRequest(kind: .email, subject: "cust-42", values: [Self.email])
            viewOnly.limits.purposes = ["view"]
            let limited = try await t.vault.tokenize(viewOnly, caller: svc)
            _ = try await t.vault.restrict(subject: "cust-42", reason: "objection", caller: dpo)
            // Restricted and without consent: not found beats all, the policy's denial beats the subject's word,
            // and the restriction is named before the missing grant.
            expectItems(
                try await t.vault.detokenize(
                    ["tok_nope"] + email + name + limited,
                    purpose: "marketing",
                    caller: newsletter
                ),
                [.error(.notFound), .error(.restricted), .error(.denied), .error(.denied)]
            )
            expectItems(try await t.vault.detokenize(email, purpose: "marketing", caller: nobody), [.error(.denied)])
            expectItems(try await t.vault.detokenize(email, purpose: "marketing", caller: svc), [.error(.restricted)])
            _ = try await t.vault.unrestrict(subject: "cust-42", caller: dpo)
            expectItems(try await t.vault.detokenize(email, purpose: "marketing", caller: svc), [.error(.noConsent)])
            try await t.grant(["marketing"], to: "cust-42", as: prefs)
            expectItems(
                try await t.vault.detokenize(email + limited, purpose: "marketing", caller: svc),
                [.value(Self.email, .plain), .error(.denied)]
            )
        }
    }

    @Test func aPolicyThatAddsAConsentPurposeStopsRevealsThatWorked() async throws {
        try await withVault(rightsYAML(consentRequired: [])) { t in
            let svc = try t.caller(RightsUID.service)
            let newsletter = try t.caller(RightsUID.newsletter)
            let token = try await t.tokenize(.email, [Self.email], subject: "cust-42", as: svc)
            expectItems(
                try await t.vault.detokenize(token, purpose: "marketing", caller: newsletter),
                [.value(Self.email, .plain)]
            )
            // The same store under the reloaded policy (the server's reload is IntegrationTests' ConsentServerTests).
            let reloaded = t.vault(deciding: try Policy.parse(yaml: rightsYAML(consentRequired: ["marketing"])))
            expectItems(
                try await reloaded.detokenize(token, purpose: "marketing", caller: newsletter),
                [.error(.noConsent)]
            )
        }
    }
}
