import Testing
import VaultTestSupport

@testable import VaultCore

/// Crypto-shredding a subject through the vault: its tokens are gone, everyone else's stay.
@Suite struct VaultEraseTests {
    @Test func eraseDestroysTheSubjectsTokensOnly() async throws {
        try await withVault(serviceYAML(kinds: [.card: .formatPreserving, .email: .deterministic])) { t in
            let svc = try t.caller(UID.service)
            var gone: [String] = []
            var kept: [String] = []
            for sample in Sample.all {
                gone += try await t.tokenize(sample.kind, [sample.raw], subject: "cust-gone", as: svc)
                kept += try await t.tokenize(sample.kind, [sample.raw], subject: "cust-kept", as: svc)
            }
            let extra = try await t.tokenize(.text, ["one", "two"], subject: "cust-gone", as: svc)
            let before = try await t.stats()

            #expect(try await t.vault.erase(subject: "cust-gone", caller: svc).erased == Sample.all.count + 2)
            #expect(
                try await t.stats()
                    == Counts(subjects: before.subjects - 1, tokens: before.tokens - Sample.all.count - 2)
            )
            // The shared deterministic email token still reveals (for the kept subject); every other token of
            // the erased subject is not found.
            let email = Sample.all.firstIndex { $0.kind == .email }!
            let expectedGone: [RevealItem] = Sample.all.map {
                $0.kind == .email ? .value($0.normalized, .plain) : .error(.notFound)
            }
            expectItems(
                try await t.vault.detokenize(gone + extra, purpose: "view", caller: svc),
                expectedGone + [.error(.notFound), .error(.notFound)],
                "erased subject:"
            )
            #expect(gone[email] == kept[email])
            expectItems(
                try await t.vault.detokenize(kept, purpose: "view", caller: svc),
                Sample.all.map { .value($0.normalized, .plain) },
                "kept subject:"
            )
            // A second erase, and an unknown subject, erase nothing.
            #expect(try await t.vault.erase(subject: "cust-gone", caller: svc).erased == 0)
            #expect(try await t.vault.erase(subject: "cust-never", caller: svc).erased == 0)
            #expect(try await t.store.read { try $0.subject(named: "cust-gone") } == nil)

            let erases = try await t.auditRows().compactMap { AuditEvent.decode($0.body) }.filter {
                $0.event == .erase
            }
            #expect(erases.map(\.count) == [Sample.all.count + 2, 0, 0])
            #expect(erases.allSatisfy { $0.outcome == .ok && $0.identity == "svc" })
        }
    }

    @Test func aRoleWithoutEraseIsDeniedAndNothingGoes() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            let sample = Sample.of(.phone)
            let tokens = try await t.tokenize(.phone, [sample.raw], subject: "cust-1", as: svc)
            let before = try await t.stats()
            for uid in [UID.reader, UID.nobody] {
                let error = await vaultError {
                    _ = try await t.vault.erase(subject: "cust-1", caller: try t.caller(uid))
                }
                #expect(error?.code == .denied, "uid \(uid)")
            }
            #expect(try await t.stats() == before)
            expectItems(
                try await t.vault.detokenize(tokens, purpose: "view", caller: svc),
                [.value(sample.normalized, .plain)]
            )
            // Each refusal is audited as denied.
            let erases = try await t.auditRows().compactMap { AuditEvent.decode($0.body) }.filter {
                $0.event == .erase
            }
            #expect(erases.map(\.outcome) == [.denied, .denied])
            #expect(erases.map(\.identity) == ["reader", "nobody"])
        }
    }
}
