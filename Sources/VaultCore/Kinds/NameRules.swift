/// Personal names in any script, normalized to Unicode NFC with surrounding whitespace trimmed and every
/// inner run of whitespace (spaces, tabs, line breaks, no-break spaces) made one space.
///
/// A name is 1 to 256 characters (grapheme clusters, what a reader counts), has at least one letter,
/// and no control or bidirectional-override character (see `TextRules.isForbiddenControl`).
enum NameRules {
    static let maxCharacters = 256

    static func normalize(_ value: String) throws(InvalidReason) -> String {
        var out = String.UnicodeScalarView()
        var hasLetter = false
        for piece in try collapsedWords(TextRules.nfc(value)) {
            if !out.isEmpty { out.append(" ") }
            out.append(contentsOf: piece)
            hasLetter = hasLetter || piece.contains(where: TextRules.isLetter)
        }
        let name = String(out)
        guard !name.isEmpty else { throw .blank }
        guard hasLetter else { throw InvalidReason("has no letter") }
        let count = name.count
        guard count <= maxCharacters else {
            throw InvalidReason("is \(count) characters long; names are at most \(maxCharacters)")
        }
        return name
    }

    /// The runs of non-whitespace scalars, after checking that none is a forbidden control.
    private static func collapsedWords(_ value: String) throws(InvalidReason) -> [Substring.UnicodeScalarView] {
        let scalars = value.unicodeScalars
        if scalars.contains(where: { !$0.properties.isWhitespace && TextRules.isForbiddenControl($0) }) {
            throw InvalidReason("has a control character")
        }
        return scalars.split(whereSeparator: { $0.properties.isWhitespace })
    }
}
