import Testing
import VaultTestSupport

@testable import VaultCore
@testable import VaultSQLite

/// A reveal whose look-ups ran on an earlier snapshot than its write must not reveal a value for a purpose
/// whose consent was withdrawn in between, nor of a subject restricted in between: the withdrawal or the
/// restriction has answered, so it is in force for every reveal recorded after it.
@Suite struct VaultConsentRaceTests {
    typealias Between = VaultEraseRaceTests.EraseBetweenStore

    @Test func aWithdrawalBetweenTheLookUpAndTheRecordIsInForce() async throws {
        try await withVault(rightsYAML(), on: .sqlite) { t in
            let svc = try t.caller(RightsUID.service)
            let prefs = try t.caller(RightsUID.preferences)
            let newsletter = try t.caller(RightsUID.newsletter)
            let withdrawing = try await t.tokenize(.email, ["goes@example.com"], subject: "cust-withdraws", as: svc)
            let staying = try await t.tokenize(.email, ["stays@example.com"], subject: "cust-stays", as: svc)
            for subject: Subject in ["cust-withdraws", "cust-stays"] {
                try await t.grant(["marketing"], to: subject, as: prefs)
            }
            let vault = t.vault
            let racing = Between(try t.sqliteStore()) {
                let withdrawn = try await vault.withdrawConsent(
                    subject: "cust-withdraws",
                    purposes: .all,
                    source: "email-footer",
                    caller: prefs
                )
                #expect(withdrawn == ["digest", "marketing"])
            }
            let raced = Vault(keyring: t.keyring, store: racing, policies: t.policies, clock: t.clock.vaultClock)
            let items = try await raced.detokenize(withdrawing + staying, purpose: "marketing", caller: newsletter)
            expectItems(items, [.error(.noConsent), .value("stays@example.com", .plain)])

            let events = try await t.auditRows().compactMap { AuditEvent.decode($0.body) }
            let withdrawal = try #require(events.lastIndex { $0.event == .consentWithdraw })
            let reveal = try #require(events.lastIndex { $0.event == .detokenize })
            #expect(withdrawal < reveal, "the reveal recorded after the withdrawal")
            #expect(
                events[reveal].items?.map(\.decision) == [.noConsent, .plain],
                "the audit record says what was answered"
            )
        }
    }

    @Test func aRestrictionBetweenTheLookUpAndTheRecordIsInForce() async throws {
        try await withVault(rightsYAML(), on: .sqlite) { t in
            let svc = try t.caller(RightsUID.service)
            let dpo = try t.caller(RightsUID.dpo)
            let restricted = try await t.tokenize(.email, ["held@example.com"], subject: "cust-held", as: svc)
            let vault = t.vault
            let racing = Between(try t.sqliteStore()) {
                _ = try await vault.restrict(subject: "cust-held", reason: "objection", caller: dpo)
            }
            let raced = Vault(keyring: t.keyring, store: racing, policies: t.policies, clock: t.clock.vaultClock)
            expectItems(try await raced.detokenize(restricted, purpose: "view", caller: svc), [.error(.restricted)])
            // An exempt purpose is not held back by the same race.
            let exempt = Between(try t.sqliteStore()) {}
            let open = Vault(keyring: t.keyring, store: exempt, policies: t.policies, clock: t.clock.vaultClock)
            expectItems(
                try await open.detokenize(restricted, purpose: "legal-hold", caller: svc),
                [.value("held@example.com", .plain)]
            )
        }
    }
}
