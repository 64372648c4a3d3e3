import Testing
@testable import VaultCore

/// Token limits on deterministic tokens, which every equal value (of any subject) shares.
@Suite struct VaultDeterministicLimitsTests {
    /// A subject tokenizing a value again with limits gets back its existing token, which keeps the limits
    /// (none) of its first tokenize: the caller believes the token is limited to `refund`, and it reveals for
    /// anything. Known issue: `TokenWriter.insert` returns the existing token without looking at its limits.
    /// Refusing other limits (or any limits on deterministic tokens) would fix it; this test then fails as a
    /// reminder to expect that.
    @Test func retokenizingWithLimitsDoesNotLimitTheSharedToken() async throws {
        try await withVault(serviceYAML(kinds: [.email: .deterministic])) { t in
            let svc = try t.caller(UID.service)
            let email = Sample.of(.email)
            let open = try await t.tokenize(.email, [email.raw], subject: "cust-a", as: svc)
            let limited = try await t.vault.tokenize(TokenizeRequest(kind: .email, subject: "cust-a", values: [email.raw],
                                                                     limits: TokenLimits(purposes: ["refund"])), caller: svc)
            #expect(open == limited, "deterministic: the same token")
            let revealed = try await t.vault.detokenize(limited, purpose: "view", caller: svc)
            withKnownIssue("limits asked for on an existing deterministic token are silently dropped") {
                // Either the second tokenize should have been refused, or the token should now be limited.
                #expect(revealed.allSatisfy { $0 == .error(.denied) }, "\(redacted(revealed))")
            }
        }
    }

    /// Another subject's row of the same token, with its own limits, is never consulted: detokenize reads the
    /// oldest subject's row (`Vault.judge`: the first unexpired row). Known issue, a design question: whose
    /// limits govern a token that several subjects share?
    @Test func anotherSubjectsLimitsOnASharedTokenAreIgnored() async throws {
        try await withVault(serviceYAML(kinds: [.email: .deterministic])) { t in
            let svc = try t.caller(UID.service)
            let email = Sample.of(.email)
            _ = try await t.tokenize(.email, [email.raw], subject: "cust-a", as: svc)
            let b = try await t.vault.tokenize(TokenizeRequest(kind: .email, subject: "cust-b", values: [email.raw],
                                                               limits: TokenLimits(purposes: ["refund"], maxReveals: 1)), caller: svc)
            #expect(try await t.stats() == Counts(subjects: 2, tokens: 2))
            let revealed = try await t.vault.detokenize(b + b, purpose: "view", caller: svc)
            withKnownIssue("a shared deterministic token is judged by its oldest row's limits only") {
                #expect(revealed.allSatisfy { $0 == .error(.denied) }, "\(redacted(revealed))")
            }
        }
    }
}
