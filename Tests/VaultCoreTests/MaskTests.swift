import Testing

@testable import VaultCore

@Suite struct MaskTests {
    @Test(arguments: [
        (Kind.card, "4111111111111111", "************1111"),
        (.card, "378282246310005", "***********0005"),
        (.ssn, "123-45-6789", "***-**-6789"),
        (.phone, "+14155552671", "+*******2671"),
        (.phone, "+68212345", "+****2345"),
        (.email, "alice.smith@example.com", "a***@example.com"),
        (.email, "a@b.co", "a***@b.co"),
        (.name, "John Doe", "J. D."),
        (.name, "Mary-Jane van der Berg", "M. v. d. B."),
        (.name, "李小龍", "李."),
        (.name, "E\u{301}mile Zola", "E\u{301}. Z."),
        (.date, "1987-06-15", "1987"),
        (.address, "1 Main St\nSpringfield", "[redacted]"),
        (.text, "anything at all", "[redacted]"),
    ])
    func masks(kind: Kind, normalized: String, mask: String) {
        #expect(Mask.mask(normalized, kind: kind) == mask)
    }

    @Test func freeFormMasksDoNotLeakLength() {
        for kind in [Kind.address, .text] {
            #expect(Mask.mask("a", kind: kind) == Mask.mask(String(repeating: "a", count: 1000), kind: kind))
        }
    }

    @Test func cardMaskKeepsLength() {
        for number in ["123456789015", "4111111111111111", "4000000000000000006"] {
            let mask = Mask.mask(number, kind: .card)
            #expect(mask.count == number.count)
            #expect(mask.hasSuffix(number.suffix(4)))
            #expect(mask.dropLast(4).allSatisfy { $0 == "*" })
        }
    }

    /// A value not in its normalized form is masked completely rather than shown.
    @Test(arguments: [
        (Kind.card, "4111"), (.card, "4111 1111 1111 1111"), (.ssn, "123456789"), (.phone, "4155552671"),
        (.email, "no-at-sign"), (.email, "@example.com"), (.name, "   "), (.date, "June 1987"),
    ])
    func malformedInputRevealsNothing(kind: Kind, value: String) {
        let mask = Mask.mask(value, kind: kind)
        #expect(!mask.contains(value))
        #expect(mask == "[redacted]" || mask == "***-**-****")
    }
}
