import Testing
import VaultTestSupport

@testable import VaultCore
@testable import VaultSQLite

/// A stored idempotent answer moved onto another row of the database does not open there: its associated
/// data names the row (VaultIdempotencyLifetimeTests, in VaultCoreTests, holds the rest of its life).
@Suite struct VaultIdempotencyTamperTests {
    @Test func aStoredAnswerOpensOnlyOnItsOwnRow() async throws {
        try await withVault(serviceYAML(), on: .sqlite) { t in
            let svc = try t.caller(UID.service)
            let one = TokenizeRequest(kind: .text, subject: "cust-1", values: ["first"], idempotencyKey: "k-1")
            let two = TokenizeRequest(kind: .text, subject: "cust-1", values: ["second"], idempotencyKey: "k-2")
            _ = try await t.vault.tokenize(one, caller: svc)
            _ = try await t.vault.tokenize(two, caller: svc)
            // Copy the second answer onto the first row (same subject, same data key): the associated data
            // names the row, so it does not open there.
            try await t.reopen {
                let a = Hex.encode(Binding.idempotencyKey(identity: "svc", key: "k-1", lookupKey: t.keyring.lookupKey))
                let b = Hex.encode(Binding.idempotencyKey(identity: "svc", key: "k-2", lookupKey: t.keyring.lookupKey))
                try t.sqlite(
                    """
                    UPDATE idempotency SET sealed_response = (SELECT sealed_response FROM idempotency WHERE key_hash = x'\(b)')
                    WHERE key_hash = x'\(a)';
                    """
                )
            }
            let error = await vaultError { _ = try await t.vault.tokenize(one, caller: svc) }
            #expect(error?.code == .integrity)
        }
    }
}
