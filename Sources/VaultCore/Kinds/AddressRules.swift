/// Postal addresses, one or more lines, normalized to Unicode NFC with each line trimmed, inner runs of
/// spaces and tabs made one space, blank lines dropped, and lines joined by "\n".
///
/// Line breaks may be "\n", "\r\n", "\r", U+0085, U+2028 or U+2029. No other control character, nor a
/// bidirectional override (see `TextRules.isForbiddenControl`), is allowed. The result is 1 to 1024
/// characters (grapheme clusters, a line break counting as one).
enum AddressRules {
    static let maxCharacters = 1024

    static func normalize(_ value: String) throws(InvalidReason) -> String {
        var out = String.UnicodeScalarView()
        for line in TextRules.nfc(value).unicodeScalars.split(whereSeparator: isLineBreak) {
            let words = line.split(whereSeparator: { $0.properties.isWhitespace })
            guard !words.isEmpty else { continue }
            if !out.isEmpty { out.append("\n") }
            for (n, word) in words.enumerated() {
                if word.contains(where: TextRules.isForbiddenControl) {
                    throw InvalidReason("has a control character (only line breaks are allowed)")
                }
                if n > 0 { out.append(" ") }
                out.append(contentsOf: word)
            }
        }
        let address = String(out)
        guard !address.isEmpty else { throw .blank }
        let count = address.count
        guard count <= maxCharacters else {
            throw InvalidReason("is \(count) characters long; addresses are at most \(maxCharacters)")
        }
        return address
    }

    /// "\r\n" splits as two breaks with nothing between them, and the empty line is dropped.
    private static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x0D, 0x85, 0x2028, 0x2029: true
        default: false
        }
    }
}
