import Testing
import VaultTestSupport

@testable import VaultCore

/// Limits a token carries (purposes, expiry, reveal count) narrow what the policy grants, never widen it.
@Suite struct VaultTokenLimitTests {
    @Test func tokenPurposesNarrowThePolicy() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            let reader = try t.caller(UID.reader)
            let sample = Sample.of(.card)
            func tokenize(_ purposes: [Purpose]) async throws -> [String] {
                try await t.vault.tokenize(
                    TokenizeRequest(
                        kind: .card,
                        subject: "cust-1",
                        values: [sample.raw],
                        limits: TokenLimits(purposes: purposes)
                    ),
                    caller: svc
                )
            }
            let refundOnly = try await tokenize(["refund"])
            expectItems(
                try await t.vault.detokenize(refundOnly, purpose: "refund", caller: svc),
                [.value(sample.normalized, .plain)]
            )
            // The policy grants charge, view and (masked) glance; the token does not.
            for purpose in ["charge", "view", "glance"] as [Purpose] {
                expectItems(
                    try await t.vault.detokenize(refundOnly, purpose: purpose, caller: svc),
                    [.error(.denied)],
                    "\(purpose):"
                )
            }
            // A token's purpose the policy does not grant stays denied.
            let marketing = try await tokenize(["marketing"])
            expectItems(try await t.vault.detokenize(marketing, purpose: "marketing", caller: svc), [.error(.denied)])
            // Two purposes, and another identity limited by its own grants.
            let two = try await tokenize(["view", "refund"])
            expectItems(
                try await t.vault.detokenize(two, purpose: "view", caller: reader),
                [.value(sample.normalized, .plain)]
            )
            expectItems(try await t.vault.detokenize(two, purpose: "refund", caller: reader), [.error(.denied)])
        }
    }

    @Test func expiredTokensAreNotFound() async throws {
        let clock = TestClock()
        try await withVault(serviceYAML(), clock: clock) { t in
            let svc = try t.caller(UID.service)
            let sample = Sample.of(.ssn)
            let expires = clock.now + 60
            let token = try await t.vault.tokenize(
                TokenizeRequest(
                    kind: .ssn,
                    subject: "cust-1",
                    values: [sample.raw],
                    limits: TokenLimits(expiresAt: expires)
                ),
                caller: svc
            )
            let forever = try await t.tokenize(.ssn, [sample.raw], subject: "cust-1", as: svc)
            expectItems(
                try await t.vault.detokenize(token + forever, purpose: "view", caller: svc),
                [.value(sample.normalized, .plain), .value(sample.normalized, .plain)]
            )
            clock.advance(by: 59)
            expectItems(
                try await t.vault.detokenize(token, purpose: "glance", caller: svc),
                [.value(sample.masked, .masked)]
            )
            clock.advance(by: 1)  // now == expires_at: expired
            expectItems(
                try await t.vault.detokenize(token + forever, purpose: "view", caller: svc),
                [.error(.notFound), .value(sample.normalized, .plain)]
            )
            clock.advance(by: 86_400)
            expectItems(try await t.vault.detokenize(token, purpose: "view", caller: svc), [.error(.notFound)])
            let last = try #require(try await t.auditRows().last.flatMap { AuditEvent.decode($0.body) })
            #expect(last.items?.map(\.decision) == [.notFound])
        }
    }

    @Test(arguments: [1, 3])
    func maxRevealsHoldsUnderConcurrentCalls(limit: Int) async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            let sample = Sample.of(.email)
            let token = try await t.vault.tokenize(
                TokenizeRequest(
                    kind: .email,
                    subject: "cust-1",
                    values: [sample.raw],
                    limits: TokenLimits(maxReveals: limit)
                ),
                caller: svc
            )
            // A denied attempt (a purpose the policy does not grant) spends nothing.
            expectItems(try await t.vault.detokenize(token, purpose: "marketing", caller: svc), [.error(.denied)])

            let vault = t.vault
            let calls = 4 * limit
            let results = try await withThrowingTaskGroup(of: RevealItem.self) { group in
                for index in 0..<calls {
                    let purpose: Purpose = index % 2 == 0 ? "view" : "glance"
                    group.addTask { try await vault.detokenize(token, purpose: purpose, caller: svc)[0] }
                }
                var all: [RevealItem] = []
                for try await item in group { all.append(item) }
                return all
            }
            let revealed = results.filter { if case .value = $0 { return true } else { return false } }
            #expect(revealed.count == limit, "\(redacted(results))")
            #expect(results.filter { $0 == .error(.denied) }.count == calls - limit)
            #expect(
                revealed.allSatisfy { $0 == .value(sample.normalized, .plain) || $0 == .value(sample.masked, .masked) }
            )
            // Used up for good, and counted in the store.
            expectItems(try await t.vault.detokenize(token, purpose: "view", caller: svc), [.error(.denied)])
            let row = try await t.rows(token[0])
            #expect(row.map(\.token.reveals) == [limit])
            // The audit log agrees: exactly `limit` reveals of this token.
            let decisions = try await t.auditRows().compactMap { AuditEvent.decode($0.body) }
                .filter { $0.event == .detokenize }.flatMap { $0.items ?? [] }.map(\.decision)
            #expect(decisions.filter { $0 == .plain || $0 == .masked }.count == limit)
        }
    }
}
