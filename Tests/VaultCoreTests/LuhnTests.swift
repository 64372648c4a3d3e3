import Testing

@testable import VaultCore

@Suite struct LuhnTests {
    struct Vectors: Decodable {
        let valid: [String]
        let invalid: [String]
    }

    @Test func publishedTestCardsPass() throws {
        let vectors = try TestVectors.load(Vectors.self, from: "luhn.json")
        #expect(!vectors.valid.isEmpty)
        for number in vectors.valid {
            #expect(Luhn.isValid(number), "\(number)")
            #expect(Luhn.checkDigit(for: number.dropLast()) == number.last, "\(number)")
            ValueCheck.expectNormalized(.card, number, number)
        }
    }

    @Test func invalidNumbersFail() throws {
        let vectors = try TestVectors.load(Vectors.self, from: "luhn.json")
        #expect(!vectors.invalid.isEmpty)
        for number in vectors.invalid {
            #expect(!Luhn.isValid(number), "\(number)")
            ValueCheck.expectRejected(.card, number, reason: "fails the Luhn check")
        }
    }

    @Test(arguments: ["", "0", "4111 1111 1111 1111", "4111a", "４１１１１１１１１１１１１１１１"])
    func nonDigitsAreNeverValid(text: String) {
        #expect(!Luhn.isValid(text))
    }

    @Test func checkDigit() {
        #expect(Luhn.checkDigit(for: "7992739871") == "3")  // the textbook example
        #expect(Luhn.checkDigit(for: "411111111111111") == "1")
        #expect(Luhn.checkDigit(for: "") == nil)
        #expect(Luhn.checkDigit(for: "12a") == nil)
        #expect(Luhn.isValid("79927398713") && Luhn.isValid("00"))
    }

    /// Luhn catches every single-digit change, which the format-preserving card tokens rely on.
    @Test func everySingleDigitChangeFails() {
        let number = Array("4111111111111111".utf8)
        for position in number.indices {
            for digit in UInt8(ascii: "0")...UInt8(ascii: "9") where digit != number[position] {
                var changed = number
                changed[position] = digit
                #expect(!Luhn.isValid(String(decoding: changed, as: UTF8.self)))
            }
        }
    }
}
