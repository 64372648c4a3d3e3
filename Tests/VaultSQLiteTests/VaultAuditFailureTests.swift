import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// Nothing is revealed without its audit record: a database that refuses the record (a trigger, added with
/// the sqlite3 shell) makes the whole detokenize fail and change nothing.
@Suite struct VaultAuditFailureTests {
    @Test func aFailingAuditWriteRevealsNothingAndChangesNothing() async throws {
        try await withVault(serviceYAML(), on: .sqlite) { t in
            let svc = try t.caller(UID.service)
            let email = Sample.of(.email)
            let card = Sample.of(.card)
            let once = try await t.vault.tokenize(
                TokenizeRequest(
                    kind: .email,
                    subject: "cust-1",
                    values: [email.raw],
                    limits: TokenLimits(maxReveals: 1)
                ),
                caller: svc
            )
            let plain = try await t.tokenize(.card, [card.raw], subject: "cust-2", as: svc)
            let before = try await t.stats()
            let auditBefore = try await t.auditRows()

            try await t.reopen {
                _ = try t.sqlite(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit refused'); END;"
                )
            }
            for purpose in ["view", "glance"] as [Purpose] {
                var revealed: [RevealItem]? = nil
                let error = await vaultError {
                    revealed = try await t.vault.detokenize(once + plain, purpose: purpose, caller: svc)
                }
                #expect(error != nil, "\(purpose): detokenize succeeded without its audit record")
                #expect(revealed.map(redacted) == nil, "\(purpose): values returned without an audit record")
                if let error {
                    for value in [email.normalized, card.normalized, email.masked, card.masked] {
                        expectNoLeak(error.description, value, "\(purpose): the error quotes a value")
                    }
                }
            }
            // Tokenize and erase need their records too, and leave nothing behind without them.
            let tokenize = await vaultError {
                _ = try await t.tokenize(.card, [card.raw], subject: "cust-3", as: svc)
            }
            #expect(tokenize != nil)
            let erase = await vaultError { _ = try await t.vault.erase(subject: "cust-2", caller: svc) }
            #expect(erase != nil)
            #expect(try await t.stats() == before)

            try await t.reopen { _ = try t.sqlite("DROP TRIGGER no_audit;") }
            #expect(try await t.auditRows() == auditBefore, "no record was written")
            // The failed calls spent nothing of the one allowed reveal.
            expectItems(
                try await t.vault.detokenize(once + plain, purpose: "view", caller: svc),
                [.value(email.normalized, .plain), .value(card.normalized, .plain)]
            )
            expectItems(try await t.vault.detokenize(once, purpose: "view", caller: svc), [.error(.denied)])
        }
    }
}
