extension TokenFormat {
    /// Domain of format-preserving email tokens. `.invalid` is reserved by RFC 2606 and RFC 6761 never to
    /// resolve, so mail to a token can never reach anyone, and the email rules reject it as a value.
    public static let emailTokenDomain = "token.invalid"
    /// Country code of format-preserving phone tokens: +999 is reserved by the ITU and never assigned, so
    /// a token can never ring a real phone, and the phone rules reject it as a value.
    public static let phoneTokenCountryCode = "999"

    /// A random token shaped like a value of `kind`, for systems that check formats; a new one each call.
    /// Each shape can never be a real value, so a token cannot be mistaken for (or charged, dialled or
    /// mailed as) one, and the kind's own rules reject it:
    ///
    /// - card: the card's length and last four digits, the rest random with a first digit 1-9, chosen so
    ///   that the whole fails the Luhn check;
    /// - ssn: `9dd-dd-dddd`, random (area 9xx is never issued);
    /// - phone: `+999` and random digits, as many digits in all as the value has (at least 8);
    /// - email: 26 random base32 characters (`a-z2-7`, 130 bits) `@token.invalid`.
    ///
    /// Returns nil for kinds with no such form (name, address, date, text; see `Kind.supports`) and when
    /// `normalized` is not in the kind's normalized form (a caller bug: pass `Kind.normalize`'s result).
    public static func formatPreserving(kind: Kind, normalized: String) -> String? {
        switch kind {
        case .card: formatPreservingCard(normalized)
        case .ssn: formatPreservingSSN()
        case .phone: formatPreservingPhone(normalized)
        case .email: normalized.utf8.contains(UInt8(ascii: "@")) ? formatPreservingEmail() : nil
        case .name, .address, .date, .text: nil
        }
    }

    private static func formatPreservingCard(_ normalized: String) -> String? {
        guard let original = Luhn.digitValues(normalized), CardRules.digitCounts.contains(original.count) else {
            return nil
        }
        let randomCount = original.count - 4
        let first = RandomDigits.draw(1, below: 9)[0] + 1
        var digits = [first] + RandomDigits.digits(randomCount - 2) + [0] + original.suffix(4)
        // The digit just before the last four is drawn among the values that make the whole fail Luhn.
        // Luhn catches every single-digit change, so exactly one of the ten values passes and nine fail:
        // drawing uniformly from those nine keeps the token uniform over all Luhn-failing candidates.
        let position = randomCount - 1
        let failing = (UInt8(0)...9).filter { candidate in
            digits[position] = candidate
            return !Luhn.isValid(digits: digits)
        }
        digits[position] = failing[Int(RandomDigits.draw(1, below: failing.count)[0])]
        return RandomDigits.text(digits)
    }

    private static func formatPreservingSSN() -> String {
        let digits = RandomDigits.digits(8)
        return "9" + RandomDigits.text(Array(digits[0..<2])) + "-" + RandomDigits.text(Array(digits[2..<4]))
            + "-" + RandomDigits.text(Array(digits[4..<8]))
    }

    private static func formatPreservingPhone(_ normalized: String) -> String? {
        let bytes = Array(normalized.utf8)
        let count = bytes.count - 1
        guard bytes.first == UInt8(ascii: "+"), PhoneRules.digitCounts.contains(count),
            bytes.dropFirst().allSatisfy(TextRules.isASCIIDigit)
        else { return nil }
        let total = max(count, PhoneRules.digitCounts.lowerBound)
        return "+" + phoneTokenCountryCode + RandomDigits.text(RandomDigits.digits(total - phoneTokenCountryCode.count))
    }

    /// Why 26 base32 characters: 130 bits of randomness, so email tokens are as unguessable and as
    /// unlikely to collide as opaque ones, in the characters every mail system accepts in a local part
    /// (lower case only, since some systems fold case).
    private static func formatPreservingEmail() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
        let local = RandomDigits.draw(26, below: 32).map { alphabet[Int($0)] }
        return String(decoding: local, as: UTF8.self) + "@" + emailTokenDomain
    }
}
