import Testing
import VaultTestSupport

@testable import VaultCore

/// Consent per purpose through the vault (docs/PRIVACY.md): a reveal for a purpose in `consent_required`
/// succeeds only for a subject holding a current grant, whoever asks; every decision is audited.
@Suite struct VaultConsentTests {
    static let email = "ada@example.com"

    @Test func aRevealForAConsentPurposeNeedsACurrentGrantWhateverTheRole() async throws {
        try await withVault(rightsYAML()) { t in
            let svc = try t.caller(RightsUID.service)
            let prefs = try t.caller(RightsUID.preferences)
            let newsletter = try t.caller(RightsUID.newsletter)
            let token = try await t.tokenize(.email, [Self.email], subject: "cust-42", as: svc)

            expectItems(
                try await t.vault.detokenize(token, purpose: "marketing", caller: newsletter),
                [.error(.noConsent)]
            )
            expectItems(try await t.vault.detokenize(token, purpose: "marketing", caller: svc), [.error(.noConsent)])
            expectItems(
                try await t.vault.detokenize(token, purpose: "digest", caller: newsletter),
                [.error(.noConsent)]
            )
            // A purpose that needs no consent behaves as before.
            expectItems(try await t.vault.detokenize(token, purpose: "view", caller: svc), [.value(Self.email, .plain)])

            let granted = try await t.grant(["marketing"], to: "cust-42", source: "signup-form-v3", as: prefs)
            #expect(granted == ConsentGranted(granted: ["marketing"], notRequired: []))
            expectItems(
                try await t.vault.detokenize(token, purpose: "marketing", caller: newsletter),
                [.value(Self.email, .plain)]
            )
            expectItems(
                try await t.vault.detokenize(token, purpose: "marketing", caller: svc),
                [.value(Self.email, .plain)]
            )
            // The grant is per purpose: digest (masked) still has none.
            expectItems(
                try await t.vault.detokenize(token, purpose: "digest", caller: newsletter),
                [.error(.noConsent)]
            )

            let withdrawn = try await t.vault.withdrawConsent(
                subject: "cust-42",
                purposes: .listed(["marketing"]),
                source: "email-footer",
                caller: prefs
            )
            #expect(withdrawn == ["marketing"])
            expectItems(
                try await t.vault.detokenize(token, purpose: "marketing", caller: newsletter),
                [.error(.noConsent)]
            )

            let decisions = try await t.auditEvents(.detokenize).compactMap { $0.items?.first?.decision }
            #expect(decisions == [.noConsent, .noConsent, .noConsent, .plain, .plain, .plain, .noConsent, .noConsent])
        }
    }

    @Test func consentIsPerSubjectAndProbedOncePerSubjectInABatch() async throws {
        try await withVault(rightsYAML()) { t in
            let svc = try t.caller(RightsUID.service)
            let prefs = try t.caller(RightsUID.preferences)
            let newsletter = try t.caller(RightsUID.newsletter)
            let yes = try await t.tokenize(
                .email,
                ["yes@example.com", "yes2@example.com"],
                subject: "cust-yes",
                as: svc
            )
            let no = try await t.tokenize(.email, ["no@example.com"], subject: "cust-no", as: svc)
            try await t.grant(["marketing"], to: "cust-yes", as: prefs)
            expectItems(
                try await t.vault.detokenize([yes[0], no[0], yes[1]], purpose: "marketing", caller: newsletter),
                [.value("yes@example.com", .plain), .error(.noConsent), .value("yes2@example.com", .plain)]
            )
            let last = try #require(try await t.auditEvents(.detokenize).last)
            #expect(last.items?.map(\.decision) == [.plain, .noConsent, .plain])
            #expect(last.items?.map(\.subject) == [0, 1, 0], "each item points at its subject's reference")
        }
    }

    @Test func theDeregisterButtonWithdrawsEveryPurposeAtOnce() async throws {
        try await withVault(rightsYAML()) { t in
            let svc = try t.caller(RightsUID.service)
            let prefs = try t.caller(RightsUID.preferences)
            let newsletter = try t.caller(RightsUID.newsletter)
            let token = try await t.tokenize(.email, [Self.email], subject: "cust-42", as: svc)
            let granted = try await t.grant(
                ["marketing", "digest", "surveys"],
                to: "cust-42",
                source: "signup-form-v3",
                as: prefs
            )
            #expect(granted.granted == ["digest", "marketing", "surveys"])
            #expect(granted.notRequired == ["surveys"], "a purpose the policy does not require is named")
            expectItems(
                try await t.vault.detokenize(token, purpose: "digest", caller: newsletter),
                [.value("a***@example.com", .masked)]
            )

            let withdrawn = try await t.vault.withdrawConsent(
                subject: "cust-42",
                purposes: .all,
                source: "email-footer",
                caller: prefs
            )
            #expect(withdrawn == ["digest", "marketing", "surveys"])
            expectItems(
                try await t.vault.detokenize(token, purpose: "digest", caller: newsletter),
                [.error(.noConsent)]
            )
            expectItems(
                try await t.vault.detokenize(token, purpose: "marketing", caller: newsletter),
                [.error(.noConsent)]
            )

            // A subject that never decided: "*" withdraws every purpose the policy requires consent for.
            let fresh = try await t.vault.withdrawConsent(
                subject: "cust-new",
                purposes: .all,
                source: "support-call",
                caller: prefs
            )
            #expect(fresh == ["digest", "marketing"])

            let record = try #require(try await t.auditEvents(.consentWithdraw).first)
            #expect(record.purposes == ["digest", "marketing", "surveys"], "the record names what was withdrawn")
            #expect(record.detail == "source email-footer, every purpose")
        }
    }

    @Test func aGrantThatExpiresStopsCountingAtItsExpiry() async throws {
        let clock = TestClock()
        try await withVault(rightsYAML(), clock: clock) { t in
            let svc = try t.caller(RightsUID.service)
            let prefs = try t.caller(RightsUID.preferences)
            let newsletter = try t.caller(RightsUID.newsletter)
            let token = try await t.tokenize(.email, [Self.email], subject: "cust-42", as: svc)
            let start = clock.now
            _ = try await t.vault.grantConsent(
                subject: "cust-42",
                purposes: ["marketing"],
                source: "promo",
                expiresAt: start + 3600,
                caller: prefs
            )
            clock.advance(by: 3599)
            expectItems(
                try await t.vault.detokenize(token, purpose: "marketing", caller: newsletter),
                [.value(Self.email, .plain)]
            )
            var state = try await t.vault.consentState(subject: "cust-42", caller: prefs)
            #expect(state.current.map(\.state) == [.granted])
            #expect(state.current.first?.since == start)

            clock.advance(by: 1)
            expectItems(
                try await t.vault.detokenize(token, purpose: "marketing", caller: newsletter),
                [.error(.noConsent)]
            )
            state = try await t.vault.consentState(subject: "cust-42", caller: prefs)
            #expect(state.current.map(\.state) == [.expired])
            #expect(state.current.first?.since == start + 3600, "expired since its expiry")
            #expect(state.current.first?.expiresAt == start + 3600)
            #expect(state.history.count == 1)

            let past = await vaultError {
                _ = try await t.vault.grantConsent(
                    subject: "cust-42",
                    purposes: ["marketing"],
                    source: "promo",
                    expiresAt: clock.now,
                    caller: prefs
                )
            }
            #expect(past?.code == .invalidRequest)
            #expect(past?.field == .consentExpiresAt)
        }
    }

    @Test func theListShowsTheStatePerPurposeAndTheWholeHistory() async throws {
        let clock = TestClock()
        try await withVault(rightsYAML(), clock: clock) { t in
            let prefs = try t.caller(RightsUID.preferences)
            let dpo = try t.caller(RightsUID.dpo)
            let t0 = clock.now
            try await t.grant(["marketing", "digest"], to: "cust-42", source: "signup", as: prefs)
            clock.advance(by: 10)
            _ = try await t.vault.withdrawConsent(
                subject: "cust-42",
                purposes: .listed(["digest"]),
                source: "footer",
                caller: prefs
            )
            clock.advance(by: 10)
            try await t.grant(["surveys"], to: "cust-42", source: "app", as: prefs)

            // A role with report: true may read it too.
            let state = try await t.vault.consentState(subject: "cust-42", caller: dpo)
            #expect(state.current.map(\.purpose) == ["digest", "marketing", "surveys"])
            #expect(state.current.map(\.state) == [.withdrawn, .granted, .granted])
            #expect(state.current.map(\.since) == [t0 + 10, t0, t0 + 20])
            #expect(state.current.map(\.source) == ["footer", "signup", "app"])
            #expect(state.current.map(\.required) == [true, true, false])
            #expect(state.history.map(\.purpose) == ["digest", "marketing", "digest", "surveys"])
            #expect(state.history.map(\.state) == [.granted, .granted, .withdrawn, .granted])
            #expect(state.history.map(\.at) == [t0, t0, t0 + 10, t0 + 20])

            let unknown = try await t.vault.consentState(subject: "cust-unknown", caller: prefs)
            #expect(unknown.current.isEmpty && unknown.history.isEmpty)
        }
    }

    @Test func onlyAConsentRoleMayRecordConsentAndEachRefusalIsAudited() async throws {
        try await withVault(rightsYAML()) { t in
            let svc = try t.caller(RightsUID.service)
            let newsletter = try t.caller(RightsUID.newsletter)
            let nobody = try t.caller(RightsUID.nobody)
            for caller in [svc, newsletter, nobody] {
                let grant = await vaultError {
                    try await t.grant(["marketing"], to: "cust-42", as: caller)
                }
                #expect(grant?.code == .denied)
                #expect(grant?.hint?.contains("consent: true") == true)
                let withdraw = await vaultError {
                    _ = try await t.vault.withdrawConsent(
                        subject: "cust-42",
                        purposes: .all,
                        source: "form",
                        caller: caller
                    )
                }
                #expect(withdraw?.code == .denied)
            }
            for caller in [svc, newsletter, nobody] {
                let list = await vaultError { _ = try await t.vault.consentState(subject: "cust-42", caller: caller) }
                #expect(list?.code == .denied)
            }
            let grants = try await t.auditEvents(.consentGrant)
            let withdrawals = try await t.auditEvents(.consentWithdraw)
            #expect(grants.map(\.outcome) == [.denied, .denied, .denied])
            #expect(withdrawals.map(\.outcome) == [.denied, .denied, .denied])
            #expect(grants.map(\.identity) == ["svc", "newsletter", "nobody"])
            #expect(grants.allSatisfy { $0.reason == "denied by policy" && $0.purposes == ["marketing"] })
            let ref = t.keyring.subjectReference("cust-42")
            #expect((grants + withdrawals).allSatisfy { $0.subjectRefs == [ref] && $0.subjects == ["cust-42"] })
            #expect(try await t.stats() == Counts(subjects: 0, tokens: 0), "a refused decision creates nothing")
        }
    }

    @Test func eachDecisionIsAuditedUnderItsSubjectsReference() async throws {
        try await withVault(rightsYAML()) { t in
            let prefs = try t.caller(RightsUID.preferences)
            _ = try await t.vault.grantConsent(
                subject: "cust-42",
                purposes: ["marketing", "digest"],
                source: "signup-form-v3",
                expiresAt: t.clock.now + 86_400,
                caller: prefs
            )
            _ = try await t.vault.withdrawConsent(
                subject: "cust-42",
                purposes: .listed(["digest"]),
                source: "footer",
                caller: prefs
            )
            let grant = try #require(try await t.auditEvents(.consentGrant).first)
            let withdrawal = try #require(try await t.auditEvents(.consentWithdraw).first)
            #expect(grant.outcome == .ok && withdrawal.outcome == .ok)
            #expect(grant.identity == "prefs" && grant.uid == RightsUID.preferences && grant.roles == ["preferences"])
            #expect(grant.purposes == ["digest", "marketing"])
            #expect(grant.detail == "source signup-form-v3, expires \(VaultClock.iso8601(t.clock.now + 86_400))")
            #expect(withdrawal.purposes == ["digest"])
            #expect(withdrawal.detail == "source footer")
            let ref = t.keyring.subjectReference("cust-42")
            #expect(grant.subjectRefs == [ref] && withdrawal.subjectRefs == [ref])
            // The store finds them by the reference, without reading the log.
            let bytes = try #require(Binding.subjectReferenceBytes(ref))
            let indexed = try await t.store.read { try $0.auditRows(concerning: bytes, after: 0, limit: 10) }
            #expect(indexed.compactMap { AuditEvent.decode($0.body)?.event } == [.consentGrant, .consentWithdraw])
        }
    }

    @Test func aGrantForAnUnknownSubjectCreatesItWithoutAKeyAndTokenizingForItThenWorks() async throws {
        try await withVault(rightsYAML()) { t in
            let svc = try t.caller(RightsUID.service)
            let prefs = try t.caller(RightsUID.preferences)
            let newsletter = try t.caller(RightsUID.newsletter)
            try await t.grant(["marketing"], to: "cust-early", source: "signup", as: prefs)
            let before = try #require(try await t.store.read { try $0.subject(named: "cust-early") })
            #expect(!before.hasDataKey, "a consent decision creates no data key")

            let token = try await t.tokenize(.email, [Self.email], subject: "cust-early", as: svc)
            let after = try #require(try await t.store.read { try $0.subject(named: "cust-early") })
            #expect(after.hasDataKey && after.id == before.id)
            #expect(after.dekVersion > before.dekVersion)
            expectItems(
                try await t.vault.detokenize(token, purpose: "marketing", caller: newsletter),
                [.value(Self.email, .plain)]
            )
        }
    }

    @Test func malformedDecisionsAreRefusedBeforeAnythingIsRecorded() async throws {
        try await withVault(rightsYAML()) { t in
            let prefs = try t.caller(RightsUID.preferences)
            let none = await vaultError {
                try await t.grant([], to: "cust-42", as: prefs)
            }
            #expect(none?.code == .invalidRequest && none?.field == .purposes)
            let many = try (0...Vault.maxConsentPurposes).map { (n) throws(VaultError) in try Purpose("p\(n)") }
            let tooMany = await vaultError {
                _ = try await t.vault.withdrawConsent(
                    subject: "cust-42",
                    purposes: .listed(many),
                    source: "form",
                    caller: prefs
                )
            }
            #expect(tooMany?.code == .invalidRequest && tooMany?.field == .purposes)
            for bad in ["", "has space", "new\nline", String(repeating: "a", count: 65), "ümlaut"] {
                let error = await vaultError { _ = try ConsentSource(bad) }
                #expect(error?.field == .consentSource)
                #expect(error.map { !$0.message.contains(bad) || bad.isEmpty } == true, "the refusal never echoes")
            }
            #expect(try ConsentSource("signup-form-v3/web:2.1_a").name == "signup-form-v3/web:2.1_a")
            #expect(
                try await t.auditRows().compactMap { AuditEvent.decode($0.body) }.allSatisfy {
                    $0.event != .consentGrant && $0.event != .consentWithdraw
                }
            )
        }
    }
}
