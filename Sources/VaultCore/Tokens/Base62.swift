/// Base62 (`0-9A-Za-z`) for 128-bit values: 16 bytes, read big-endian, as exactly 22 characters,
/// left-padded with '0' (62^22 > 2^128 > 62^21, so 22 is the fixed width).
///
/// Why base62: the alphabet is letters and digits only, so a token survives URLs, CSV, JSON, shells and
/// double-click selection without escaping. The alphabet is in ASCII order, so fixed-width encodings sort
/// like the numbers they encode.
public enum Base62 {
    public static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    /// Characters in the encoding of 16 bytes.
    public static let width = 22
    public static let byteCount = 16

    /// Encodes exactly 16 bytes. The value is held in two UInt64 limbs and divided by 62 once per output
    /// character: always 22 rounds, whatever the value, with no early exit for leading zeros.
    public static func encode(_ bytes: [UInt8]) -> String {
        precondition(bytes.count == byteCount, "Base62.encode takes exactly 16 bytes")
        var high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        var low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        var out = [UInt8](repeating: alphabet[0], count: width)
        for position in stride(from: width - 1, through: 0, by: -1) {
            let (highQuotient, highRemainder) = high.quotientAndRemainder(dividingBy: 62)
            // highRemainder < 62, so (highRemainder:low) / 62 fits in 64 bits.
            let (lowQuotient, remainder) = UInt64(62).dividingFullWidth((high: highRemainder, low: low))
            high = highQuotient
            low = lowQuotient
            out[position] = alphabet[Int(remainder)]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes 22 base62 characters to 16 bytes; nil for another length, a character outside the
    /// alphabet, or a value of 2^128 or more.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let characters = text.utf8
        guard characters.count == width else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for character in characters {
            guard let digit = value(of: character) else { return nil }
            // (high:low) = (high:low) * 62 + digit, failing on any carry out of 128 bits.
            let lowProduct = low.multipliedFullWidth(by: 62)
            let (highProduct, overflow1) = high.multipliedReportingOverflow(by: 62)
            let (newHigh, overflow2) = highProduct.addingReportingOverflow(lowProduct.high)
            let (newLow, carry) = lowProduct.low.addingReportingOverflow(digit)
            let (carriedHigh, overflow3) = newHigh.addingReportingOverflow(carry ? 1 : 0)
            guard !overflow1, !overflow2, !overflow3 else { return nil }
            high = carriedHigh
            low = newLow
        }
        return [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
            for i in 0..<8 {
                out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * i))
                out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * i))
            }
            initialized = byteCount
        }
    }

    static func isAlphabetCharacter(_ byte: UInt8) -> Bool { value(of: byte) != nil }

    private static func value(of character: UInt8) -> UInt64? {
        switch character {
        case 0x30...0x39: UInt64(character - 0x30)  // 0-9
        case 0x41...0x5A: UInt64(character - 0x41 + 10)  // A-Z
        case 0x61...0x7A: UInt64(character - 0x61 + 36)  // a-z
        default: nil
        }
    }
}
