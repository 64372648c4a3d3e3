import Testing
import VaultTestSupport

@testable import VaultCore

/// Token limits on deterministic tokens, which every equal value (of any subject) shares. Limits belong to
/// one token row, so cvault refuses them on deterministic tokens instead of dropping them silently or
/// applying one caller's limits to everyone.
@Suite struct VaultDeterministicLimitsTests {
    /// Re-tokenizing an existing deterministic value with limits is refused; the token stays unlimited and
    /// nothing new is stored.
    @Test func limitsOnAnExistingDeterministicTokenAreRefused() async throws {
        try await withVault(serviceYAML(kinds: [.email: .deterministic])) { t in
            let svc = try t.caller(UID.service)
            let email = Sample.of(.email)
            _ = try await t.tokenize(.email, [email.raw], subject: "cust-a", as: svc)
            let before = try await t.stats()
            let error = await #expect(throws: VaultError.self) {
                _ = try await t.vault.tokenize(
                    TokenizeRequest(
                        kind: .email,
                        subject: "cust-a",
                        values: [email.raw],
                        limits: TokenLimits(purposes: ["refund"])
                    ),
                    caller: svc
                )
            }
            #expect(error?.code == .invalidRequest)
            #expect(error?.field == .limits)
            #expect(try await t.stats() == before)
        }
    }

    /// A second subject cannot attach limits to a token it would share with the first.
    @Test func limitsOnASharedDeterministicTokenAreRefused() async throws {
        try await withVault(serviceYAML(kinds: [.email: .deterministic])) { t in
            let svc = try t.caller(UID.service)
            let email = Sample.of(.email)
            _ = try await t.tokenize(.email, [email.raw], subject: "cust-a", as: svc)
            let error = await #expect(throws: VaultError.self) {
                _ = try await t.vault.tokenize(
                    TokenizeRequest(
                        kind: .email,
                        subject: "cust-b",
                        values: [email.raw],
                        limits: TokenLimits(purposes: ["refund"], maxReveals: 1)
                    ),
                    caller: svc
                )
            }
            #expect(error?.code == .invalidRequest)
            #expect(try await t.stats() == Counts(subjects: 1, tokens: 1))
        }
    }
}
