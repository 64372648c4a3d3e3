import Foundation
import Testing

@testable import VaultCore

/// `VaultClock.iso8601` is computed by hand (for speed); it must match Foundation's formatter exactly.
struct ClockTests {
    @Test(arguments: [
        Int64(0), 1, 59, 86_399, 86_400, 951_782_399, 951_782_400, 1_700_000_000, 1_798_761_600,
        4_102_444_799, 4_107_542_400, 253_402_300_799, 68_169_600, 1_583_020_800,
    ])
    func matchesFoundation(_ seconds: Int64) {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        #expect(
            VaultClock.iso8601(seconds) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        )
    }

    @Test func roundTripsThroughTheParser() {
        for seconds in stride(from: Int64(0), to: 4_102_444_800, by: 7_654_321) {
            #expect(VaultClock.parseISO8601(VaultClock.iso8601(seconds)) == seconds)
        }
    }
}

/// Any Int64 formats without trapping (a timestamp reaching the formatter must never stop the server), and
/// the first and last representable days still print their true date.
struct ClockExtremesTests {
    @Test(arguments: [Int64.min, Int64.min + 1, Int64.min + 86_399, -62_167_219_201, -1, Int64.max - 86_399, Int64.max])
    func everyInt64Formats(_ seconds: Int64) {
        let text = VaultClock.iso8601(seconds)
        #expect(text.hasSuffix("Z"))
        #expect(text.utf8.count >= 20)
    }

    @Test func yearZeroAndNineThousandNineHundredNinetyNineRoundTrip() {
        // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the ends of what a request's timestamp can spell.
        #expect(VaultClock.iso8601(-62_167_219_200) == "0000-01-01T00:00:00Z")
        #expect(VaultClock.iso8601(253_402_300_799) == "9999-12-31T23:59:59Z")
        #expect(VaultClock.iso8601(-1) == "1969-12-31T23:59:59Z")
    }
}
