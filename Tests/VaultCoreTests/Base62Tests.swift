import Testing

@testable import VaultCore

@Suite struct Base62Tests {
    @Test func knownValues() {
        #expect(Base62.encode([UInt8](repeating: 0, count: 16)) == String(repeating: "0", count: 22))
        #expect(Base62.encode([UInt8](repeating: 0, count: 15) + [61]) == String(repeating: "0", count: 21) + "z")
        #expect(Base62.encode([UInt8](repeating: 0, count: 15) + [62]) == String(repeating: "0", count: 20) + "10")
        // 2^64: the low limb overflows into the high one.
        #expect(
            Base62.encode([UInt8](repeating: 0, count: 7) + [1] + [UInt8](repeating: 0, count: 8))
                == "00000000000LygHa16AHYG"
        )
        // 2^128 - 1, the largest value. Expected strings computed with Python's arbitrary-precision ints.
        #expect(Base62.encode([UInt8](repeating: 0xFF, count: 16)) == "7n42DGM5Tflk9n8mt7Fhc7")
    }

    @Test func roundTrips() {
        var samples = [[UInt8](repeating: 0, count: 16), [UInt8](repeating: 0xFF, count: 16)]
        for _ in 0..<2000 { samples.append(SecureRandom.bytes(16)) }
        for bytes in samples {
            let text = Base62.encode(bytes)
            #expect(text.utf8.count == 22)
            #expect(Base62.decode(text) == bytes)
        }
    }

    @Test func orderMatchesNumericOrder() {
        let values = (0..<200).map { _ in SecureRandom.bytes(16) }
        let byBytes = values.sorted { $0.lexicographicallyPrecedes($1) }.map(Base62.encode)
        #expect(byBytes == byBytes.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    @Test(arguments: [
        "", "0", String(repeating: "0", count: 21), String(repeating: "0", count: 23),
        String(repeating: "0", count: 21) + "-", String(repeating: "0", count: 21) + "é",
        "7n42DGM5Tflk9n8mt7Fhc8",  // 2^128, one past the largest
        String(repeating: "z", count: 22),
    ])
    func rejectsBadText(text: String) {
        #expect(Base62.decode(text) == nil)
    }
}
