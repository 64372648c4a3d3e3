import Testing

@testable import VaultCore

/// The text form of an unseal share: it round-trips, and any single changed character is refused by the
/// share's check before any combination is tried, with an error that never quotes the share.
@Suite struct ShamirShareTextTests {
    static func share(index: UInt8 = 2) -> UnsealShare {
        UnsealShare(setID: "0123456789abcdef", threshold: 3, index: index, y: SecureBytes(randomCount: 32))
    }

    static func yHex(_ share: UnsealShare) -> String { share.y.withUnsafeBytes { Hex.encode($0) } }

    @Test func encodesAsSixFieldsAndParsesBack() throws {
        let share = Self.share()
        let text = share.encoded()
        let fields = text.split(separator: " ")
        #expect(fields.count == 6)
        #expect(
            fields[0] == "cvault-share-v1" && fields[1] == "0123456789abcdef" && fields[2] == "3" && fields[3] == "2"
        )
        #expect(fields[4].count == 64 && fields[5].count == 16)
        let parsed = try UnsealShare.parse(text + "\n", source: "share file")
        #expect(parsed.setID == share.setID && parsed.threshold == 3 && parsed.index == 2)
        #expect(parsed.y.constantTimeEquals(share.y))
        // The description is for logs: it never shows y.
        let shown = "\(parsed)".contains(Self.yHex(share))
        #expect(!shown, "the description shows the share's secret part")
        #expect("\(parsed)".contains("redacted"))
    }

    @Test func everySingleChangedCharacterIsRefused() throws {
        let share = Self.share()
        let text = Array(share.encoded())
        let y = Self.yHex(share)
        var accepted: [Int] = []
        var notCaughtByTheCheck: [Int] = []
        for position in text.indices {
            // Two replacements per position: a character of the same class (so only the check can tell,
            // e.g. one hex digit for another), and a case change or an unrelated character.
            let original = text[position]
            let sameClass: Character =
                original.isHexDigit ? (original == "7" ? "8" : "7") : (original == " " ? "x" : "z")
            let other: Character = original.isLetter && original.isLowercase ? Character(original.uppercased()) : "#"
            for replacement in [sameClass, other] where replacement != original {
                var changed = text
                changed[position] = replacement
                do {
                    _ = try UnsealShare.parse(String(changed), source: "share 1")
                    accepted.append(position)
                } catch {
                    #expect(error.code == .invalidRequest)
                    #expect(error.message.hasPrefix("share 1 "), "the error names its source")
                    let leaked = error.message.contains(y) || (error.hint ?? "").contains(y)
                    #expect(!leaked, "the error quotes the share")
                    // Everything from the set id on is covered by the check digits.
                    if position >= "cvault-share-v1 ".count, original.isHexDigit, !error.message.contains("corrupted") {
                        notCaughtByTheCheck.append(position)
                    }
                }
            }
        }
        #expect(accepted.isEmpty, "changes at positions \(accepted) were accepted")
        #expect(notCaughtByTheCheck.isEmpty, "hex changes at \(notCaughtByTheCheck) were not reported as corrupted")
    }

    @Test func otherMalformedTextIsRefused() {
        let text = Self.share().encoded()
        let fields = text.split(separator: " ").map(String.init)
        for bad in [
            "", "cvault-share-v1", text + " extra", fields.dropLast().joined(separator: " "),
            "cvault-share-v2" + text.dropFirst("cvault-share-v1".count),
        ] {
            #expect(throws: VaultError.self) { _ = try UnsealShare.parse(bad, source: "share 1") }
        }
    }

    @Test func aWellFormedShareWithIndexZeroOrAShortYIsMalformed() {
        for share in [
            UnsealShare(setID: "0123456789abcdef", threshold: 3, index: 0, y: SecureBytes(randomCount: 32)),
            UnsealShare(setID: "0123456789abcdef", threshold: 3, index: 1, y: SecureBytes(randomCount: 31)),
            UnsealShare(setID: "0123456789abcdef", threshold: 1, index: 1, y: SecureBytes(randomCount: 32)),
        ] {
            let error = #expect(throws: VaultError.self) {
                _ = try UnsealShare.parse(share.encoded(), source: "share 1")
            }
            #expect(error?.message.contains("malformed") == true)
        }
    }
}
