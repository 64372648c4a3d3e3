import Testing

@testable import VaultCore

/// The associated data and look-up keys are stored facts: every ciphertext in every vault was sealed with these
/// exact bytes, so they must never change (the schema-1 fixture vault checks the same end to end). Expected
/// bytes are spelled out by hand here: label, a zero byte, then each field as a u32 big-endian length and its
/// bytes.
private func text(_ string: String) -> [UInt8] { Array(string.utf8) }

@Suite struct BindingTests {
    static func field(_ bytes: [UInt8]) -> [UInt8] {
        [
            UInt8(bytes.count >> 24), UInt8(bytes.count >> 16 & 0xff), UInt8(bytes.count >> 8 & 0xff),
            UInt8(bytes.count & 0xff),
        ] + bytes
    }

    @Test func wrappedKeyNamesSubjectAndKEKVersion() {
        let expected = text("cvault.dek.v1") + [0] + Self.field(text("cust-42")) + Self.field([0, 0, 0, 3])
        #expect(Binding.wrappedKey(subject: "cust-42", kekVersion: 3) == expected)
    }

    @Test func valueNamesEverythingTheGateReads() {
        let lookup: [UInt8] = Array(0..<16)
        let limited = TokenLimits(purposes: ["charge", "refund"], expiresAt: 1_800_000_000, maxReveals: 3)
        let expected =
            text("cvault.value.v1") + [0] + Self.field(lookup) + Self.field(text("cust-é"))
            + Self.field(text("card")) + Self.field([0, 0, 0, 1]) + Self.field(text("p=charge,refund"))
            + Self.field(text("e=1800000000")) + Self.field(text("m=3"))
        #expect(
            Binding.value(lookup: lookup, subject: "cust-é", kind: .card, dekVersion: 1, limits: limited) == expected
        )

        let open =
            text("cvault.value.v1") + [0] + Self.field(lookup) + Self.field(text("c"))
            + Self.field(text("text")) + Self.field([0, 0, 1, 0]) + Self.field(text("p*")) + Self.field(text("e*"))
            + Self.field(text("m*"))
        #expect(Binding.value(lookup: lookup, subject: "c", kind: .text, dekVersion: 256, limits: .none) == open)
        // No purpose at all is not the same as any purpose.
        let none = Binding.value(
            lookup: lookup,
            subject: "c",
            kind: .text,
            dekVersion: 256,
            limits: TokenLimits(purposes: [])
        )
        #expect(none != open)
        #expect(
            none.suffix(4 + 2 + 4 + 2 + 4 + 2) == Self.field(text("p=")) + Self.field(text("e*"))
                + Self.field(text("m*"))
        )
    }

    @Test func lookupIsKeyedBLAKE2bOfTheEncodedToken() {
        let key = SecureBytes(randomCount: 32)
        let message = text("cvault.lookup.v1") + [0] + Self.field(text("tok_3ZB53koWSxTvJydkoYgrlf"))
        #expect(
            Binding.lookup(token: "tok_3ZB53koWSxTvJydkoYgrlf", key: key)
                == BLAKE2b.hash(message, key: key, outputLength: 16)
        )
    }
}
