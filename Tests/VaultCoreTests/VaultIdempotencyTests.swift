import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// A tokenize retried with the same idempotency key returns the first answer and stores nothing new.
@Suite struct VaultIdempotencyTests {
    @Test(arguments: [TokenMode.opaque, .formatPreserving])
    func sameKeyAndRequestReplaysTheFirstAnswer(mode: TokenMode) async throws {
        try await withVault(serviceYAML(kinds: [.card: mode])) { t in
            let svc = try t.caller(UID.service)
            let cards = [Sample.of(.card).raw, luhnCard(prefix: "5105", length: 16)]
            let limits = TokenLimits(purposes: ["charge"], maxReveals: 5)
            let request = TokenizeRequest(
                kind: .card,
                subject: "cust-1",
                values: cards,
                limits: limits,
                idempotencyKey: "order-1"
            )
            let first = try await t.vault.tokenize(request, caller: svc)
            let counts = try await t.stats()
            #expect(counts == Counts(subjects: 1, tokens: 2))

            #expect(try await t.vault.tokenize(request, caller: svc) == first)
            // The same values written differently are the same request.
            var reformatted = request
            reformatted.values = cards.map { $0.replacingOccurrences(of: " ", with: "") }
            reformatted.values[1] = " " + reformatted.values[1] + " "
            #expect(try await t.vault.tokenize(reformatted, caller: svc) == first)
            #expect(try await t.stats() == counts)
            // Without the key, the same request makes new tokens (random modes).
            var keyless = request
            keyless.idempotencyKey = nil
            #expect(try await t.vault.tokenize(keyless, caller: svc) != first)

            let replays = try await t.auditRows().compactMap { AuditEvent.decode($0.body) }.filter {
                $0.reason == "idempotent replay"
            }
            #expect(replays.count == 2)
            expectItems(
                try await t.vault.detokenize(first, purpose: "charge", caller: svc),
                [
                    .value(Sample.of(.card).normalized, .plain), .value(cards[1], .plain),
                ]
            )
        }
    }

    @Test func sameKeyWithOtherParametersIsRefused() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            let email = Sample.of(.email)
            let request = TokenizeRequest(
                kind: .email,
                subject: "cust-1",
                values: [email.raw],
                idempotencyKey: "signup-9"
            )
            let first = try await t.vault.tokenize(request, caller: svc)
            let counts = try await t.stats()

            var variants: [(String, TokenizeRequest)] = []
            var other = request
            other.values = ["someone.else@example.org"]
            variants.append(("values", other))
            other = request
            other.values = [email.raw, email.raw]
            variants.append(("count", other))
            other = request
            other.subject = "cust-2"
            variants.append(("subject", other))
            other = request
            other.limits = TokenLimits(maxReveals: 1)
            variants.append(("limits", other))
            other = request
            other.scope = "analytics"
            variants.append(("scope", other))
            other = TokenizeRequest(
                kind: .text,
                subject: "cust-1",
                values: [email.normalized],
                idempotencyKey: "signup-9"
            )
            variants.append(("kind", other))
            for (what, variant) in variants {
                let error = await vaultError { _ = try await t.vault.tokenize(variant, caller: svc) }
                #expect(error?.code == .invalidRequest, "other \(what)")
                expectNoLeak(error?.description ?? "", email.normalized, "other \(what): the error quotes the value")
            }
            #expect(try await t.stats() == counts)
            // The key still answers its own request.
            #expect(try await t.vault.tokenize(request, caller: svc) == first)
        }
    }

    @Test func keysBelongToTheCallingIdentity() async throws {
        let yaml = serviceYAML().replacingOccurrences(of: "    roles: [reader]", with: "    roles: [reader, service]")
        try await withVault(yaml) { t in
            let svc = try t.caller(UID.service)
            let other = try t.caller(UID.reader)
            let request = TokenizeRequest(
                kind: .name,
                subject: "cust-1",
                values: [Sample.of(.name).raw],
                idempotencyKey: "k-1"
            )
            let mine = try await t.vault.tokenize(request, caller: svc)
            let theirs = try await t.vault.tokenize(request, caller: other)
            #expect(mine != theirs, "another identity's key is its own, not a replay of svc's")
            #expect(try await t.stats() == Counts(subjects: 1, tokens: 2))
        }
    }
}
