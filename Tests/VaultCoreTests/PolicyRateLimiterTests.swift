import Testing

@testable import VaultCore

/// `RevealRateLimiter` with injected instants: exact counts, no sleeping.
@Suite struct PolicyRateLimiterTests {
    let start = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant {
        start.advanced(by: .milliseconds(Int64(seconds * 1000)))
    }

    @Test func burstIsTheLimitThenOnePerSecondAtSixtyAMinute() {
        let limiter = RevealRateLimiter()
        #expect(limiter.take(identity: "a", count: 60, limit: 60, now: at(0)))
        #expect(!limiter.take(identity: "a", count: 1, limit: 60, now: at(0)))
        #expect(!limiter.take(identity: "a", count: 1, limit: 60, now: at(0.999)))
        #expect(limiter.take(identity: "a", count: 1, limit: 60, now: at(1)))
        #expect(!limiter.take(identity: "a", count: 1, limit: 60, now: at(1)))
        #expect(limiter.take(identity: "a", count: 30, limit: 60, now: at(31)))
        #expect(!limiter.take(identity: "a", count: 1, limit: 60, now: at(31)))
    }

    @Test func countsEachRevealOneByOne() {
        let limiter = RevealRateLimiter()
        var granted = 0
        for _ in 0..<25 where limiter.take(identity: "a", count: 1, limit: 10, now: at(0)) {
            granted += 1
        }
        #expect(granted == 10)
        // 10 a minute is one every 6 s: after 59.999 s, 9 are back, not 10.
        granted = 0
        for _ in 0..<25 where limiter.take(identity: "a", count: 1, limit: 10, now: at(59.999)) {
            granted += 1
        }
        #expect(granted == 9)
    }

    @Test func allOrNothing() {
        let limiter = RevealRateLimiter()
        #expect(limiter.take(identity: "a", count: 55, limit: 60, now: at(0)))
        #expect(!limiter.take(identity: "a", count: 6, limit: 60, now: at(0)))
        // The refused batch took nothing: the 5 left are all there.
        #expect(limiter.take(identity: "a", count: 5, limit: 60, now: at(0)))
        #expect(!limiter.take(identity: "a", count: 1, limit: 60, now: at(0)))
    }

    @Test func neverMoreThanTheBurstAfterALongIdle() {
        let limiter = RevealRateLimiter()
        #expect(limiter.take(identity: "a", count: 60, limit: 60, now: at(0)))
        #expect(!limiter.take(identity: "a", count: 61, limit: 60, now: at(3600)))
        #expect(limiter.take(identity: "a", count: 60, limit: 60, now: at(3600)))
        #expect(!limiter.take(identity: "a", count: 1, limit: 60, now: at(3600)))
    }

    @Test func batchLargerThanTheLimitNeverFits() {
        let limiter = RevealRateLimiter()
        #expect(!limiter.take(identity: "a", count: 11, limit: 10, now: at(0)))
        #expect(limiter.take(identity: "a", count: 10, limit: 10, now: at(0)))
    }

    @Test func fractionalRefillIsExact() {
        let limiter = RevealRateLimiter()
        #expect(limiter.take(identity: "a", count: 600, limit: 600, now: at(0)))
        // 600 a minute is one per 100 ms.
        #expect(!limiter.take(identity: "a", count: 1, limit: 600, now: at(0.099)))
        #expect(limiter.take(identity: "a", count: 1, limit: 600, now: at(0.1)))
        #expect(limiter.take(identity: "a", count: 5, limit: 600, now: at(0.6)))
        #expect(!limiter.take(identity: "a", count: 1, limit: 600, now: at(0.6)))
    }

    @Test func identitiesHaveTheirOwnBuckets() {
        let limiter = RevealRateLimiter()
        #expect(limiter.take(identity: "a", count: 5, limit: 5, now: at(0)))
        #expect(!limiter.take(identity: "a", count: 1, limit: 5, now: at(0)))
        #expect(limiter.take(identity: "b", count: 5, limit: 5, now: at(0)))
    }

    @Test func unlimitedAndEmptyTakesAlwaysSucceed() {
        let limiter = RevealRateLimiter()
        #expect(limiter.take(identity: "a", count: 1_000_000, limit: nil, now: at(0)))
        #expect(limiter.take(identity: "a", count: 0, limit: 1, now: at(0)))
        #expect(limiter.take(identity: "a", count: 1, limit: 1, now: at(0)))
        #expect(limiter.take(identity: "a", count: 0, limit: 1, now: at(0)))
        #expect(!limiter.take(identity: "a", count: -1, limit: 1, now: at(0)))
        #expect(!limiter.take(identity: "b", count: 1, limit: 0, now: at(0)))
    }

    @Test func timeGoingBackwardsRefillsNothing() {
        let limiter = RevealRateLimiter()
        #expect(limiter.take(identity: "a", count: 60, limit: 60, now: at(10)))
        #expect(!limiter.take(identity: "a", count: 1, limit: 60, now: at(0)))
        // Nor does it move the bucket's clock back: one second after 10 s, one reveal.
        #expect(limiter.take(identity: "a", count: 1, limit: 60, now: at(11)))
        #expect(!limiter.take(identity: "a", count: 1, limit: 60, now: at(11)))
    }

    @Test func aLowerLimitAfterAReloadAppliesAtOnce() {
        let limiter = RevealRateLimiter()
        #expect(limiter.take(identity: "a", count: 1, limit: 600, now: at(0)))
        #expect(limiter.take(identity: "a", count: 10, limit: 10, now: at(0)))
        #expect(!limiter.take(identity: "a", count: 1, limit: 10, now: at(0)))
    }

    @Test func concurrentTakesNeverOverdraw() async {
        let limiter = RevealRateLimiter()
        let now = at(0)
        let granted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<500 {
                group.addTask { limiter.take(identity: "a", count: 1, limit: 100, now: now) }
            }
            var count = 0
            for await ok in group where ok { count += 1 }
            return count
        }
        #expect(granted == 100)
    }

    @Test func largestLimitDoesNotOverflow() {
        let limiter = RevealRateLimiter()
        let limit = RoleLimits.revealsPerMinuteCeiling
        #expect(limiter.take(identity: "a", count: limit, limit: limit, now: at(0)))
        #expect(!limiter.take(identity: "a", count: 1, limit: limit, now: at(0)))
        #expect(limiter.take(identity: "a", count: limit, limit: limit, now: at(1_000_000)))
        #expect(limiter.take(identity: "b", count: limit, limit: Int.max, now: at(0)))
        #expect(!limiter.take(identity: "b", count: 1, limit: Int.max, now: at(0)))
    }
}
