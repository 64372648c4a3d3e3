import Foundation

/// Character-level helpers shared by the kinds' rules. This is the only file in Kinds that imports
/// Foundation, for Unicode NFC; the rules themselves work on Unicode scalars or ASCII bytes.
enum TextRules {
    /// `value` without leading and trailing Unicode whitespace (the White_Space property, which covers
    /// tabs, line breaks and no-break spaces).
    static func trimmed(_ value: String) -> Substring {
        let scalars = value.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return value[value.endIndex...] }
        return Substring(scalars[first...last])
    }

    /// Canonical composition (NFC), so that "é" typed as one scalar or as "e" + U+0301 is stored, and
    /// deterministically tokenized, as the same value. swift-corelibs-foundation provides this on Linux.
    static func nfc(_ value: String) -> String {
        value.precomposedStringWithCanonicalMapping
    }

    /// A character that must not appear in a name or an address: a C0/C1 control (general category Cc,
    /// such as NUL or ESC), or an invisible bidirectional embedding, override or isolate (U+202A–U+202E,
    /// U+2066–U+2069), which makes text display in an order other than the one it is stored in (the
    /// "Trojan Source" trick) and so could make one person's record look like another's.
    static func isForbiddenControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.generalCategory == .control { return true }
        return (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
    }

    /// True for letters of any script (general categories Lu, Ll, Lt, Lm, Lo).
    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    static func isASCIIDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    static func isASCIILetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
}
