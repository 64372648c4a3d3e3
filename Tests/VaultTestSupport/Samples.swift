import VaultCore

// MARK: - Values

/// One sample value per kind: what a service sends, the normalized form the vault keeps and reveals, and
/// its mask. Written out by hand, not computed by the code under test.
public struct Sample: Sendable, CustomStringConvertible {
    public let kind: Kind
    public let raw: String
    public let normalized: String
    public let masked: String
    /// Says which sample, never the value (failure messages must not print values).
    public var description: String { "\(kind.rawValue) sample" }

    public static let all: [Sample] = [
        Sample(
            kind: .email,
            raw: "  Zephyrine.Q+vault@Example-Mail.ORG ",
            normalized: "Zephyrine.Q+vault@example-mail.org",
            masked: "Z***@example-mail.org"
        ),
        Sample(kind: .phone, raw: "+44 (20) 7946-0958", normalized: "+442079460958", masked: "+********0958"),
        Sample(kind: .card, raw: "4242 4242 4242 4242", normalized: "4242424242424242", masked: "************4242"),
        Sample(kind: .ssn, raw: "219099999", normalized: "219-09-9999", masked: "***-**-9999"),
        Sample(kind: .name, raw: " Zephyrine \t  Quarterfield ", normalized: "Zephyrine Quarterfield", masked: "Z. Q."),
        Sample(
            kind: .address,
            raw: "42  Wallaby Way \r\n\n  Sydney NSW 2000",
            normalized: "42 Wallaby Way\nSydney NSW 2000",
            masked: "[redacted]"
        ),
        Sample(kind: .date, raw: " 1987-03-14 ", normalized: "1987-03-14", masked: "1987"),
        Sample(
            kind: .text,
            raw: "the quick zebra's secret note #9931",
            normalized: "the quick zebra's secret note #9931",
            masked: "[redacted]"
        ),
    ]

    public static func of(_ kind: Kind) -> Sample { all.first { $0.kind == kind }! }
}

/// A Luhn-valid card number of `length` digits starting with `prefix` (the check digit computed here, not
/// by the code under test).
public func luhnCard(prefix: String, length: Int = 16) -> String {
    var digits = Array(prefix.utf8).map { Int($0 - 48) }
    while digits.count < length - 1 { digits.append(digits.count % 10) }
    var sum = 0
    for (offset, digit) in digits.reversed().enumerated() {
        // The check digit goes at the end, so the digit just before it is doubled.
        if offset % 2 == 0 {
            let d = digit * 2
            sum += d > 9 ? d - 9 : d
        } else {
            sum += digit
        }
    }
    digits.append((10 - sum % 10) % 10)
    return String(digits.map { Character(String($0)) })
}

public func isLuhnValid(_ digits: String) -> Bool {
    var sum = 0
    for (offset, byte) in digits.utf8.reversed().enumerated() {
        let digit = Int(byte) - 48
        if offset % 2 == 1 {
            let d = digit * 2
            sum += d > 9 ? d - 9 : d
        } else {
            sum += digit
        }
    }
    return sum % 10 == 0
}
