import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// Idempotency records belong to their subject (erase takes them), are sealed under its data key, and last
/// the vault's idempotency lifetime (docs/PROTOCOL.md §6.1): past it the key is a new one and the record is
/// purged.
@Suite struct VaultIdempotencyLifetimeTests {
    static func keyHash(_ t: TestVault, _ key: IdempotencyKey) -> [UInt8] {
        Binding.idempotencyKey(identity: "svc", key: key.text, lookupKey: t.keyring.lookupKey)
    }

    @Test func eraseTakesTheSubjectsIdempotencyRecords() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            let request = TokenizeRequest(kind: .text, subject: "cust-1", values: ["a note"], idempotencyKey: "order-1")
            let kept = TokenizeRequest(kind: .text, subject: "cust-2", values: ["a note"], idempotencyKey: "order-2")
            let first = try await t.vault.tokenize(request, caller: svc)
            _ = try await t.vault.tokenize(kept, caller: svc)
            let record = try await t.store.read { try $0.idempotency(keyHash: Self.keyHash(t, "order-1")) }
            #expect(record?.subjectID != nil)
            #expect(try await t.vault.erase(subject: "cust-1", caller: svc).erased == 1)
            #expect(
                try await t.store.read { try $0.idempotency(keyHash: Self.keyHash(t, "order-1")) } == nil,
                "the erased subject's record is gone"
            )
            #expect(
                try await t.store.read { try $0.idempotency(keyHash: Self.keyHash(t, "order-2")) } != nil,
                "another subject's record stays"
            )
            // The same key now makes a new token for a new subject: nothing of the old answer is left to replay.
            let again = try await t.vault.tokenize(request, caller: svc)
            #expect(again != first)
        }
    }

    @Test func anExpiredKeyIsANewKeyAndItsRecordIsPurged() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            let request = TokenizeRequest(kind: .text, subject: "cust-1", values: ["a note"], idempotencyKey: "order-1")
            let first = try await t.vault.tokenize(request, caller: svc)
            t.clock.advance(by: Vault.defaultIdempotencyLifetime - 1)
            #expect(try await t.vault.tokenize(request, caller: svc) == first, "still within the lifetime: a replay")
            t.clock.advance(by: 1)
            let second = try await t.vault.tokenize(request, caller: svc)
            #expect(second != first, "expired: the call runs again")
            #expect(try await t.stats().tokens == 2)
            #expect(try await t.vault.tokenize(request, caller: svc) == second, "the new answer is the one replayed")

            // Other keys' records expire and the housekeeping purge clears them; the live one stays.
            for key in ["a", "b", "c"] as [IdempotencyKey] {
                let other = TokenizeRequest(kind: .text, subject: "cust-2", values: ["x"], idempotencyKey: key)
                _ = try await t.vault.tokenize(other, caller: svc)
            }
            t.clock.advance(by: Vault.defaultIdempotencyLifetime)
            #expect(try await t.vault.purgeExpiredIdempotency(batch: 2) == 4, "in batches of 2, every expired record")
            #expect(try await t.vault.purgeExpiredIdempotency() == 0)
            for key in ["order-1", "a", "b", "c"] as [IdempotencyKey] {
                #expect(try await t.store.read { try $0.idempotency(keyHash: Self.keyHash(t, key)) } == nil)
            }
        }
    }

    @Test func eachCallWithAKeyPurgesAFewExpiredRecords() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            let keys = try (0..<(Vault.purgeBatchPerCall + 2)).map { try IdempotencyKey("old-\($0)") }
            for key in keys {
                _ = try await t.vault.tokenize(
                    TokenizeRequest(kind: .text, subject: "cust-1", values: ["x"], idempotencyKey: key),
                    caller: svc
                )
            }
            t.clock.advance(by: Vault.defaultIdempotencyLifetime + 1)
            _ = try await t.vault.tokenize(
                TokenizeRequest(kind: .text, subject: "cust-1", values: ["y"], idempotencyKey: "new"),
                caller: svc
            )
            var left = 0
            for key in keys where try await t.store.read({ try $0.idempotency(keyHash: Self.keyHash(t, key)) }) != nil {
                left += 1
            }
            #expect(left == 2, "one call purged \(Vault.purgeBatchPerCall) of the expired records, oldest first")
        }
    }
}
