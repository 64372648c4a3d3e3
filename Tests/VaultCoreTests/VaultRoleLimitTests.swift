import Testing
import VaultTestSupport

@testable import VaultCore

/// A role's `max_batch` and `reveals_per_minute`, through the vault.
@Suite struct VaultRoleLimitTests {
    @Test func batchesOverMaxBatchAreRefusedWhole() async throws {
        try await withVault(serviceYAML(limits: "    limits: { max_batch: 3 }")) { t in
            let svc = try t.caller(UID.service)
            let cards = (0..<4).map { luhnCard(prefix: "51\($0)", length: 16) }
            let tooMany = await vaultError {
                _ = try await t.tokenize(.card, cards, subject: "cust-1", as: svc)
            }
            #expect(tooMany?.code == .tooLarge)
            #expect(tooMany?.limit == 3)
            #expect(try await t.stats() == Counts(subjects: 0, tokens: 0))

            let tokens = try await t.vault.tokenize(
                TokenizeRequest(kind: .card, subject: "cust-1", values: Array(cards.prefix(3))),
                caller: svc
            )
            let refused = await vaultError {
                _ = try await t.vault.detokenize(tokens + tokens.prefix(1), purpose: "view", caller: svc)
            }
            #expect(refused?.code == .tooLarge)
            #expect(refused?.limit == 3)
            expectItems(
                try await t.vault.detokenize(tokens, purpose: "view", caller: svc),
                cards.prefix(3).map { .value($0, .plain) }
            )
            // Another identity's roles keep the default limit.
            let reader = try t.caller(UID.reader)
            #expect(try await t.vault.detokenize(tokens + tokens, purpose: "view", caller: reader).count == 6)
        }
    }

    /// The bucket holds 5 and refills one every 12 s. Each refusal below asks for 5 (or 6) at once, which fits
    /// only after a minute of refill, so the outcome does not depend on how fast the calls run.
    @Test func revealsOverTheRateAreRefused() async throws {
        try await withVault(serviceYAML(limits: "    limits: { reveals_per_minute: 5 }")) { t in
            let svc = try t.caller(UID.service)
            let samples = Array(Sample.all.prefix(6))
            var tokens: [String] = []
            for sample in samples {
                tokens += try await t.tokenize(sample.kind, [sample.raw], subject: "cust-1", as: svc)
            }
            // Six reveals can never fit a bucket of five: refused whole, taking nothing.
            let never = await vaultError { _ = try await t.vault.detokenize(tokens, purpose: "view", caller: svc) }
            #expect(never?.code == .rateLimited)
            #expect(never?.limit == 5)
            #expect((never?.retryAfterMilliseconds ?? 0) > 0)
            // Denied items are not reveals: five reveals and a denial (a token limited to another purpose) fit.
            let held = try await t.vault.tokenize(
                TokenizeRequest(
                    kind: .text,
                    subject: "cust-1",
                    values: ["kept back"],
                    limits: TokenLimits(purposes: ["refund"])
                ),
                caller: svc
            )
            var batch = tokens
            batch[5] = held[0]
            let limited = try await t.vault.detokenize(batch, purpose: "view", caller: svc)
            expectItems(limited, samples.prefix(5).map { .value($0.normalized, .plain) } + [.error(.denied)])
            // The bucket is empty now: five more reveals, plain or masked, are refused (they would fit again only
            // after a full minute of refill).
            for purpose in ["view", "glance"] as [Purpose] {
                let again = await vaultError {
                    _ = try await t.vault.detokenize(Array(tokens.prefix(5)), purpose: purpose, caller: svc)
                }
                #expect(again?.code == .rateLimited, "\(purpose)")
            }
            // svc's empty bucket does not hold back another identity.
            expectItems(
                try await t.vault.detokenize([tokens[0]], purpose: "view", caller: try t.caller(UID.reader)),
                [.value(samples[0].normalized, .plain)]
            )
            // Refusals are audited, with nothing revealed.
            let refusals = try await t.auditRows().compactMap { AuditEvent.decode($0.body) }.filter {
                $0.outcome == .refused
            }
            #expect(refusals.count == 3)
            #expect(
                refusals.allSatisfy { $0.event == .detokenize && $0.reason == "rate limited" && $0.identity == "svc" }
            )
        }
    }
}
