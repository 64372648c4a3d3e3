import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// Guessing format-preserving tokens through detokenize (review finding: an SSN token is `9` and 8 random
/// digits, 10^8 in all, and misses cost nothing, so an identity with a masked ssn rule swept them and found
/// customers it was never given).
@Suite struct VaultGuessingTests {
    static let customers = 200, ssnsPerCustomer = 100

    /// `guesser` may see masked SSNs and has a budget of one miss a minute; `svc` keeps the default.
    static let policyYAML = """
        kinds:
          ssn: format-preserving
        identities:
          - { name: svc, uid: 2001, roles: [service] }
          - { name: guesser, uid: 2002, roles: [masked-ssn] }
        roles:
          service:
            tokenize: [ssn]
            detokenize:
              - { kinds: [ssn], purposes: [view], reveal: plain }
          masked-ssn:
            detokenize:
              - { kinds: [ssn], purposes: [support], reveal: masked }
            limits: { misses_per_minute: 1 }
        """

    /// A distinct valid SSN for each `index` below 20,000 (areas 101-300, group 11, serials 1001-1100).
    static func ssn(_ index: Int) -> String {
        String(format: "%03d-11-%04d", 101 + index / 100, 1001 + index % 100)
    }

    /// 20,000 SSN tokens held; 200,000 random SSN-shaped tokens swept in calls of 1 to 1000.
    ///
    /// Without a miss budget each guess hits with probability 20,000 / 10^8 = 2e-4, so the sweep finds about
    /// 40 customers (on the old code it did). With one miss a minute, every guess whose outcome can show in
    /// an answer is paid for: only calls made while the budget is not in debt are answered, and their misses
    /// are at most 1 × (1 + the sweep's minutes). The residual chance of a hit is about 2e-4 per evaluated
    /// guess: below 5e-4 for a sweep that takes under a minute (at most two evaluated guesses).
    @Test func aSweepOfRandomSSNTokensRevealsNoCustomer() async throws {
        try await withVault(Self.policyYAML) { t in
            let svc = try t.caller(UID.service)
            let guesser = try t.caller(2002)
            var held: [String] = []
            for customer in 0..<Self.customers {
                let values = (0..<Self.ssnsPerCustomer).map { Self.ssn(customer * Self.ssnsPerCustomer + $0) }
                held += try await t.tokenize(.ssn, values, subject: Subject("cust-\(customer)"), as: svc)
            }
            #expect(Set(held).count == Self.customers * Self.ssnsPerCustomer)
            #expect(held.allSatisfy { $0.hasPrefix("9") && $0.count == 11 })

            let sizes = [1, 10, 100, 1000, 50, 1]
            var swept = 0
            var calls = 0
            var answeredCalls = 0
            var evaluated = 0
            var revealed = 0
            var refusals = 0
            let started = ContinuousClock.now
            while swept < 200_000 {
                let size = min(sizes[calls % sizes.count], 200_000 - swept)
                let guesses = (0..<size).map { _ in
                    String(
                        format: "9%02d-%02d-%04d",
                        Int.random(in: 0...99),
                        Int.random(in: 0...99),
                        Int.random(in: 0...9999)
                    )
                }
                swept += size
                calls += 1
                do {
                    let items = try await t.vault.detokenize(guesses, purpose: "support", caller: guesser)
                    answeredCalls += 1
                    evaluated += items.count
                    revealed += items.filter { if case .value = $0 { return true } else { return false } }.count
                } catch let error as VaultError {
                    #expect(error.code == .rateLimited)
                    #expect(error.limit == 1 && error.field == .missesPerMinute)
                    #expect((error.retryAfterMilliseconds ?? 0) > 0)
                    refusals += 1
                }
            }
            let minutes = Double((ContinuousClock.now - started).components.seconds + 1) / 60
            #expect(revealed == 0, "the sweep revealed \(revealed) customers")
            // The budget bounds the guesses answered: one a minute, a burst of one (plus what refilled while
            // the sweep ran); refused calls reveal nothing, whatever they held.
            #expect(
                evaluated <= 1 + Int(minutes.rounded(.up)),
                "\(evaluated) guesses answered in \(answeredCalls) calls"
            )
            #expect(refusals == calls - answeredCalls)

            // Every refusal is audited, naming the budget, with nothing revealed.
            let records = try await t.auditRows().compactMap { AuditEvent.decode($0.body) }
                .filter { $0.event == .detokenize && $0.identity == "guesser" }
            let refused = records.filter { $0.outcome == .refused }
            #expect(refused.count == refusals)
            #expect(
                refused.allSatisfy {
                    $0.reason == "miss budget" && ($0.items ?? []).allSatisfy { $0.decision == .refused }
                }
            )

            // The guesser's debt is its own: the service's tokens still reveal, for it, at once.
            let sample = [held[0], held[12_345], held[19_999]]
            expectItems(
                try await t.vault.detokenize(sample, purpose: "view", caller: svc),
                [0, 12_345, 19_999].map { .value(Self.ssn($0), .plain) }
            )
        }
    }
}
