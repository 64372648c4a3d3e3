import Synchronization
import Testing

@testable import VaultCore

/// Unknown-uid connections are counted per uid and taken once per window (docs/AUDIT.md, `connect`).
struct UnknownIdentityCounterTests {
    final class FakeTime: Sendable {
        let seconds = Mutex<Int64>(1_800_000_000)
        var clock: VaultClock { VaultClock { self.seconds.withLock { $0 } } }
        func advance(_ by: Int64) { seconds.withLock { $0 += by } }
    }

    @Test func countsPerUIDAndTakesOnlyWhenTheWindowIsOver() {
        let time = FakeTime()
        let counter = UnknownIdentityCounter(clock: time.clock)
        #expect(counter.take(force: false) == nil, "nothing counted, nothing to write")
        for _ in 0..<50 { counter.record(uid: 1002) }
        counter.record(uid: 1003)
        time.advance(UnknownIdentityCounter.window - 1)
        #expect(counter.take(force: false) == nil, "the window is still open")
        time.advance(1)
        let tally = counter.take(force: false)
        #expect(tally?.counts == [1002: 50, 1003: 1])
        #expect(tally?.since == 1_800_000_000)
        #expect(counter.take(force: true) == nil, "taken once")
    }

    @Test func forceTakesAnOpenWindowAndRestorePutsItBack() {
        let time = FakeTime()
        let counter = UnknownIdentityCounter(clock: time.clock)
        counter.record(uid: 7)
        let tally = counter.take(force: true)
        #expect(tally?.counts == [7: 1])
        counter.record(uid: 7)
        counter.restore(tally!)
        #expect(counter.take(force: true)?.counts == [7: 2])
    }

    @Test func distinctUIDsPastTheCapAreCountedTogether() {
        let counter = UnknownIdentityCounter(clock: FakeTime().clock)
        for uid in 0..<UInt32(UnknownIdentityCounter.maxUIDs + 10) { counter.record(uid: uid) }
        let tally = counter.take(force: true)
        #expect(tally?.counts.count == UnknownIdentityCounter.maxUIDs)
        #expect(tally?.others == 10)
    }
}
