import Testing

@testable import VaultCore

@Suite struct RandomDigitsTests {
    @Test(arguments: [2, 9, 10, 32, 62, 256])
    func staysBelowTheBoundAndCoversIt(bound: Int) {
        let values = RandomDigits.draw(20 * bound, below: bound)
        #expect(values.count == 20 * bound)
        #expect(values.allSatisfy { Int($0) < bound })
        #expect(Set(values).count == bound)
    }

    /// A rough uniformity check: over 100,000 digits each should appear about 10,000 times. The bound
    /// (9,500...10,500) is over 5 standard deviations wide, so a fair generator fails it with negligible
    /// probability, while modulo bias from using all 256 byte values (a 2.3% excess for 0-5) would fail it.
    @Test func digitsAreUniform() {
        var counts = [Int](repeating: 0, count: 10)
        for digit in RandomDigits.digits(100_000) { counts[Int(digit)] += 1 }
        #expect(counts.allSatisfy { (9_500...10_500).contains($0) }, "\(counts)")
    }
}
