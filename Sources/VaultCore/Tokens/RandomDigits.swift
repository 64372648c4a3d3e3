/// Uniform random small numbers for format-preserving tokens, drawn from `SecureRandom`.
///
/// Bytes are drawn in one call and reduced by rejection: a byte is used only if it is below the largest
/// multiple of the bound that fits in a byte (250 for digits), so every result is exactly equally likely
/// (no modulo bias). One `randombytes_buf` call per batch instead of one per digit saves system calls.
enum RandomDigits {
    /// `count` values, each uniform in `0..<bound` (bound 2...256).
    static func draw(_ count: Int, below bound: Int) -> [UInt8] {
        precondition((2...256).contains(bound), "bound must be 2...256")
        let limit = 256 / bound * bound
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            // A little extra, since about (256 - limit) / 256 of the bytes are rejected.
            for byte in SecureRandom.bytes(count - out.count + 4) where Int(byte) < limit && out.count < count {
                out.append(UInt8(Int(byte) % bound))
            }
        }
        return out
    }

    /// `count` decimal digit values, each uniform in 0...9.
    static func digits(_ count: Int) -> [UInt8] { draw(count, below: 10) }

    /// Digit values as ASCII text.
    static func text(_ digits: [UInt8]) -> String {
        String(decoding: digits.map { $0 + 0x30 }, as: UTF8.self)
    }
}
