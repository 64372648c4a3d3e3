import Testing

@testable import VaultCore

/// `MissBudget` with injected instants: exact charges, no sleeping.
@Suite struct MissBudgetTests {
    let start = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant {
        start.advanced(by: .milliseconds(Int64(seconds * 1000)))
    }

    @Test func missesWithinTheBudgetAreAnsweredAndCharged() {
        let budget = MissBudget()
        #expect(budget.charge(identity: "a", misses: 4, limit: 6, now: at(0)).answered)
        #expect(budget.charge(identity: "a", misses: 2, limit: 6, now: at(0)).answered)
        // Empty, not in debt: a call without misses is still answered (a service's good tokens never pay).
        #expect(budget.charge(identity: "a", misses: 0, limit: 6, now: at(0)).answered)
        // 6 a minute is one every 10 s.
        #expect(!budget.charge(identity: "b", misses: 7, limit: 6, now: at(0)).answered)
        #expect(budget.charge(identity: "a", misses: 1, limit: 6, now: at(10)).answered)
    }

    /// A refusal is charged, and a debt refuses everything, hits included: otherwise calls of (what is left
    /// + 1) guesses, or of single guesses on an empty bucket, would be free and answered exactly on a hit.
    @Test func aRefusalIsChargedAndADebtRefusesEverything() {
        let budget = MissBudget()
        #expect(budget.charge(identity: "a", misses: 2, limit: 6, now: at(0)).answered)
        let over = budget.charge(identity: "a", misses: 5, limit: 6, now: at(0))
        #expect(!over.answered)
        // 4 left, 5 charged: one in debt; back to zero after 10 s, and to the 5 asked after 60 s.
        #expect(over.retryAfterMilliseconds == 60_000)
        #expect(!budget.charge(identity: "a", misses: 0, limit: 6, now: at(9.9)).answered)
        #expect(budget.charge(identity: "a", misses: 0, limit: 6, now: at(10)).answered)
        // At zero one miss is refused (and charged), and so is the hit that follows it.
        #expect(!budget.charge(identity: "a", misses: 1, limit: 6, now: at(10)).answered)
        #expect(!budget.charge(identity: "a", misses: 0, limit: 6, now: at(10)).answered)
    }

    @Test func theDebtIsCappedAtOneBucketAndHugeCallsNeverPass() {
        let budget = MissBudget()
        #expect(!budget.charge(identity: "a", misses: Int.max, limit: 6, now: at(0)).answered)
        // A full bucket of debt is gone after two minutes, however many misses were charged.
        #expect(!budget.charge(identity: "a", misses: 0, limit: 6, now: at(59.9)).answered)
        #expect(budget.charge(identity: "a", misses: 0, limit: 6, now: at(60)).answered)
        #expect(budget.charge(identity: "a", misses: 6, limit: 6, now: at(120)).answered)
        // The ceiling and absurd limits stay inside the arithmetic.
        #expect(!budget.charge(identity: "c", misses: Int.max, limit: Int.max, now: at(0)).answered)
        #expect(budget.charge(identity: "c", misses: 0, limit: Int.max, now: at(0.001)).retryAfterMilliseconds > 0)
        #expect(!budget.charge(identity: "d", misses: 0, limit: 0, now: at(0)).answered)
        #expect(!budget.charge(identity: "e", misses: -5, limit: Int.min, now: at(0)).answered)
    }

    static func policy(_ missesOfT: String) -> String {
        """
        identities:
          - { name: a, uid: 1, roles: [t, u] }
          - { name: b, uid: 2, roles: [t] }
        roles:
          t: { limits: { misses_per_minute: \(missesOfT) } }
          u: { limits: { max_batch: 10 } }
        """
    }

    @Test func policyDefaultIsLimitedAndTheKeyIsParsed() throws {
        #expect(RoleLimits.defaults.missesPerMinute == 60)
        let policy = try Policy.parse(yaml: Self.policy("5"))
        #expect(policy.roles["t"]?.limits.missesPerMinute == 5)
        #expect(policy.roles["u"]?.limits.missesPerMinute == RoleLimits.defaultMissesPerMinute)
        // Several roles: the larger budget (u's default beats t's 5).
        #expect(try policy.limits(for: #require(policy.identity(uid: 1))).missesPerMinute == 60)
        #expect(try policy.limits(for: #require(policy.identity(uid: 2))).missesPerMinute == 5)
        #expect(try Policy.parse(yaml: Self.policy("1000000")).roles["t"]?.limits.missesPerMinute == 1_000_000)
        for bad in ["0", "-1", "1000001", "many"] {
            #expect(throws: VaultError.self) { try Policy.parse(yaml: Self.policy(bad)) }
        }
    }
}
