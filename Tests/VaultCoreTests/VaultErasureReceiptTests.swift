import Testing
import VaultJSON
import VaultTestSupport

@testable import VaultCore

/// The erasure receipt: a signed statement of what an erase destroyed, whose counts are those of what was
/// tokenized, covering the erase's own audit record, which holds the same facts.
@Suite struct VaultErasureReceiptTests {
    @Test func theReceiptSaysWhatWasDestroyedAndVerifies() async throws {
        try await withVault(serviceYAML(kinds: [.email: .deterministic])) { t in
            let svc = try t.caller(UID.service)
            _ = try await t.tokenize(.email, ["a@x.org", "b@x.org"], subject: "cust-9", as: svc)
            _ = try await t.tokenize(.text, ["first-vq", "second-vq", "third-vq"], subject: "cust-9", as: svc)
            _ = try await t.tokenize(.phone, [Sample.of(.phone).raw], subject: "cust-9", as: svc)
            _ = try await t.tokenize(.text, ["other"], subject: "cust-other", as: svc)
            let subject = try #require(try await t.store.read { try $0.subject(named: "cust-9") })

            let erasure = try await t.vault.erase(subject: "cust-9", caller: svc)
            #expect(erasure.tokens == [.email: 2, .text: 3, .phone: 1] && erasure.erased == 6)
            #expect(erasure.dataKeyVersion == subject.dekVersion)

            // The erase's audit record holds the receipt's facts, and is the last record.
            let last = try #require(try await t.auditRows().last)
            #expect(erasure.record == last)
            let record = try #require(AuditEvent.decode(last.body))
            #expect(record.event == .erase && record.count == 6 && record.dekVersion == subject.dekVersion)
            #expect(
                record.perKind == [
                    "email": AuditKindTally(tokens: 2), "text": AuditKindTally(tokens: 3),
                    "phone": AuditKindTally(tokens: 1),
                ]
            )

            // The receipt verifies under the vault's audit key, covers that record, and says the same.
            let receipt = try Statement.verify(
                fileBytes: erasure.receipt.fileBytes,
                publicKey: t.keyring.auditPublicKey
            )
            #expect(receipt.category == .erasureReceipt)
            #expect(receipt.head.seq == last.seq && receipt.head.hash == last.hash)
            let body = receipt.body.members
            #expect(body["subject"] == .string("cust-9"))
            #expect(body["subject_ref"] == .string(t.keyring.subjectReference("cust-9")))
            #expect(body["tokens_destroyed"] == .object(["email": .int(2), "text": .int(3), "phone": .int(1)]))
            #expect(body["tokens_destroyed_total"] == .int(6))
            #expect(body["data_key_version"] == .int(Int64(subject.dekVersion)))
            #expect(body["erased_by"] == .string("svc") && body["roles"] == .array([.string("service")]))
            #expect(body["erased_at"] == .string(record.at))
            #expect(body["audit_record"] == .object(["seq": .int(last.seq), "hash": .string(Hex.encode(last.hash))]))
            // Nothing of the values is in it.
            let text = String(decoding: erasure.receipt.fileBytes, as: UTF8.self)
            for value in ["a@x.org", "b@x.org", "first-vq", "second-vq", "third-vq"] {
                expectNoLeak(text, value, "receipt")
            }
        }
    }

    @Test func aTamperedReceiptIsRefused() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            _ = try await t.tokenize(.text, ["one", "two"], subject: "cust-9", as: svc)
            let file = try await t.vault.erase(subject: "cust-9", caller: svc).receipt.fileBytes
            // Fewer tokens than were destroyed, re-written in canonical form: only the signature can catch it.
            let fewer = try rewrittenStatement(file) { members in
                guard case .object(var body)? = members["body"] else { return }
                body["tokens_destroyed_total"] = .int(1)
                members["body"] = .object(body)
            }
            #expect(fewer != file)
            let error = await vaultError { _ = try Statement.verify(fileBytes: fewer) }
            #expect(error?.code == .integrity)
            #expect(try Statement.verify(fileBytes: file).category == .erasureReceipt)
        }
    }

    @Test func anUnknownSubjectGetsAReceiptOfNothing() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            let erasure = try await t.vault.erase(subject: "cust-never", caller: svc)
            #expect(erasure.erased == 0 && erasure.dataKeyVersion == nil)
            let body = try Statement.verify(fileBytes: erasure.receipt.fileBytes).body.members
            #expect(body["tokens_destroyed"] == .object([:]) && body["tokens_destroyed_total"] == .int(0))
            #expect(body["data_key_version"] == .null)
            let record = try #require(AuditEvent.decode(erasure.record.body))
            #expect(record.perKind == nil && record.dekVersion == nil && record.count == 0)
        }
    }

    @Test func aSubjectEmptiedByRetentionHasNoKeyToDestroy() async throws {
        let clock = TestClock()
        try await withVault(serviceYAML() + "\nretention: {text: 1d}\n", clock: clock) { t in
            let svc = try t.caller(UID.service)
            _ = try await t.tokenize(.text, ["old"], subject: "cust-9", as: svc)
            clock.advance(by: 86_400)
            #expect(try await t.vault.purgeExpired().totalDataKeys == 1)
            let erasure = try await t.vault.erase(subject: "cust-9", caller: svc)
            #expect(erasure.erased == 0 && erasure.dataKeyVersion == nil)
            #expect(try await t.store.read { try $0.subject(named: "cust-9") } == nil, "the subject row goes too")
        }
    }
}
