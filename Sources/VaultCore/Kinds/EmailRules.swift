/// Email addresses: `local@domain`, ASCII only.
///
/// The local part is a dot-atom (RFC 5322 `atext` characters and single inner dots): quoted local parts
/// and internationalized (SMTPUTF8) addresses are rejected, because almost no system that receives a
/// detokenized address accepts them. The domain is a DNS host name of at least two labels with an
/// alphabetic top-level domain. Normalized form: the local part as given (it may be case-sensitive, RFC
/// 5321 §2.4) + "@" + the domain in lower case (DNS is case-insensitive).
enum EmailRules {
    static let maxLength = 254  // RFC 5321 path limit (256) less the angle brackets
    static let maxLocalLength = 64  // RFC 5321 §4.5.3.1.1
    static let maxLabelLength = 63  // RFC 1035 §2.3.4

    /// RFC 2606 reserves `.invalid` for names that must never resolve: no real mailbox has it, and cvault's
    /// format-preserving email tokens end in `@token.invalid`, so accepting it could tokenize a token.
    static let reservedTopLevelDomain = "invalid"

    static func normalize(_ value: String) throws(InvalidReason) -> String {
        let trimmed = TextRules.trimmed(value)
        let bytes = Array(trimmed.utf8)
        guard !bytes.isEmpty else { throw .blank }
        // Counted in Unicode scalars, which for the ASCII addresses accepted are the RFC's octets; a
        // non-ASCII address that fits is rejected below for its characters.
        let length = trimmed.unicodeScalars.count
        guard length <= maxLength else {
            throw InvalidReason("is \(length) characters long; addresses are at most \(maxLength)")
        }
        let ats = bytes.indices.filter { bytes[$0] == UInt8(ascii: "@") }
        guard let at = ats.first else { throw InvalidReason("has no '@'") }
        guard ats.count == 1 else { throw InvalidReason("has more than one '@' (quoted local parts are not accepted)") }
        let local = bytes[..<at]
        try checkLocal(local)
        let domain = try checkedDomain(bytes[(at + 1)...])
        return String(decoding: local, as: UTF8.self) + "@" + domain
    }

    private static func checkLocal(_ local: ArraySlice<UInt8>) throws(InvalidReason) {
        guard !local.isEmpty else { throw InvalidReason("has nothing before the '@'") }
        guard local.count <= maxLocalLength else {
            throw InvalidReason("has a local part of \(local.count) characters; the limit is \(maxLocalLength)")
        }
        let dot = UInt8(ascii: ".")
        if local.first == dot || local.last == dot {
            throw InvalidReason("has a local part that starts or ends with a dot")
        }
        if zip(local, local.dropFirst()).contains(where: { $0 == dot && $1 == dot }) {
            throw InvalidReason("has two dots in a row in its local part")
        }
        if local.contains(where: { $0 >= 0x80 }) {
            throw InvalidReason(
                "has a non-ASCII character in its local part (internationalized addresses are not accepted)"
            )
        }
        guard local.allSatisfy(isLocalCharacter) else {
            throw InvalidReason(
                "has a character not allowed in a local part (allowed: letters, digits, dots and ! # $ % & ' * + - / = ? ^ _ ` { | } ~)"
            )
        }
    }

    /// RFC 5322 `atext` symbols, plus the dot (whose placement `checkLocal` checks).
    private static let localSymbols: [UInt8] = Array("!#$%&'*+-/=?^_`{|}~.".utf8)

    private static func isLocalCharacter(_ byte: UInt8) -> Bool {
        TextRules.isASCIIDigit(byte) || TextRules.isASCIILetter(byte) || localSymbols.contains(byte)
    }

    /// Checks the domain and returns it in lower case.
    private static func checkedDomain(_ domain: ArraySlice<UInt8>) throws(InvalidReason) -> String {
        guard !domain.isEmpty else { throw InvalidReason("has nothing after the '@'") }
        if domain.contains(where: { $0 >= 0x80 }) {
            throw InvalidReason("has a non-ASCII domain; give it in its ASCII (xn--) form")
        }
        let lowered = domain.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        let labels = lowered.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for label in labels { try checkLabel(label) }
        guard labels.count >= 2 else {
            throw InvalidReason("has a domain of one label; it needs a name and a top-level domain")
        }
        let tld = labels[labels.count - 1]
        guard tld.count >= 2, tld.allSatisfy(TextRules.isASCIILetter) else {
            throw InvalidReason("has a top-level domain that is not at least 2 letters")
        }
        guard !tld.elementsEqual(reservedTopLevelDomain.utf8) else {
            throw InvalidReason("has a top-level domain reserved never to receive mail (RFC 2606)")
        }
        return String(decoding: lowered, as: UTF8.self)
    }

    private static func checkLabel(_ label: ArraySlice<UInt8>) throws(InvalidReason) {
        guard !label.isEmpty else {
            throw InvalidReason("has an empty domain label (a dot at the start or end, or two in a row)")
        }
        guard label.count <= maxLabelLength else {
            throw InvalidReason("has a domain label longer than \(maxLabelLength) characters")
        }
        let hyphen = UInt8(ascii: "-")
        guard label.allSatisfy({ TextRules.isASCIILetter($0) || TextRules.isASCIIDigit($0) || $0 == hyphen }) else {
            throw InvalidReason("has a domain character other than letters, digits, hyphens and dots")
        }
        guard label.first != hyphen, label.last != hyphen else {
            throw InvalidReason("has a domain label that starts or ends with a hyphen")
        }
    }
}
