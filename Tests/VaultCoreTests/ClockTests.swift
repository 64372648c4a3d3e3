import Foundation
import Testing
@testable import VaultCore

/// `VaultClock.iso8601` is computed by hand (for speed); it must match Foundation's formatter exactly.
struct ClockTests {
    @Test(arguments: [Int64(0), 1, 59, 86_399, 86_400, 951_782_399, 951_782_400, 1_700_000_000, 1_798_761_600,
                      4_102_444_799, 4_107_542_400, 253_402_300_799, 68_169_600, 1_583_020_800])
    func matchesFoundation(_ seconds: Int64) {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        #expect(VaultClock.iso8601(seconds) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
    }

    @Test func roundTripsThroughTheParser() {
        for seconds in stride(from: Int64(0), to: 4_102_444_800, by: 7_654_321) {
            #expect(VaultClock.parseISO8601(VaultClock.iso8601(seconds)) == seconds)
        }
    }
}
