import Foundation
import Testing

/// tokenize and detokenize as a user runs them. The tests share one vault: each uses its own subject and
/// looks only at its own tokens.
@Suite("cvault tokenize and detokenize", .sharedVault)
struct TokenizeDetokenizeTests {
    static func isOpaqueToken(_ token: String) -> Bool {
        token.count == 26 && token.hasPrefix("tok_")
            && token.dropFirst(4).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    @Test("values as arguments: one token per line, in order; detokenize prints the values in order")
    func valuesAsArguments() async throws {
        let vault = try SharedVault.vault()
        let phones = ["+44 20 7946 0958", "(212) 555-0175", "+33 1 42 68 53 00"]
        let run = try await vault.cvault(["tokenize", "--kind", "phone", "--subject", "cust-args"] + phones)
        #expect(run.status == 0, "\(run.stderr)")
        // They work, with the warning that arguments are visible to other users (CLIValueHandlingTests).
        #expect(
            run.stderr.hasPrefix("cvault: warning: values given as arguments are visible to every local user")
                && run.stderr.split(separator: "\n").count == 1,
            "\(run.stderr)"
        )
        let tokens = run.lines
        #expect(tokens.count == 3)
        #expect(tokens.allSatisfy(Self.isOpaqueToken))
        #expect(Set(tokens).count == 3)
        expectNoLeak(run, of: phones, "tokenize")

        let reveal = try await vault.cvault(["detokenize", "--purpose", "demo"] + tokens)
        #expect(reveal.status == 0, "\(reveal.stderr)")
        #expect(reveal.stderr == "")
        expectLines(reveal, ["+442079460958", "+12125550175", "+33142685300"], "phones in E.164, in order")

        // Order follows the arguments, not the order of tokenizing.
        let reversed = try await vault.cvault(["detokenize", "--purpose", "demo"] + tokens.reversed())
        expectLines(reversed, ["+33142685300", "+12125550175", "+442079460958"], "reversed order")
    }

    @Test("values from standard input, one per line (CRLF too); tokens from standard input")
    func valuesFromStandardInput() async throws {
        let vault = try SharedVault.vault()
        let run = try await vault.cvault(
            "tokenize",
            "--kind",
            "name",
            "--subject",
            "cust-stdin",
            stdin: "Ada   Lovelace\nGrace Hopper\r\n  Alan Turing\n"
        )
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines.count == 3)
        #expect(run.lines.allSatisfy(Self.isOpaqueToken))

        let reveal = try await vault.cvault(
            "detokenize",
            "--purpose",
            "demo",
            stdin: run.lines.joined(separator: "\n") + "\n"
        )
        #expect(reveal.status == 0, "\(reveal.stderr)")
        expectLines(reveal, ["Ada Lovelace", "Grace Hopper", "Alan Turing"], "names, normalized, in order")
    }

    @Test("a purpose the policy reveals masked prints masks; token types follow the policy's kinds")
    func maskedRevealAndTokenTypes() async throws {
        let vault = try SharedVault.vault()
        let emails = try await vault.tokenize(
            "email",
            subject: "cust-mask",
            ["Ada.Lovelace@Example.COM", "Ada.Lovelace@example.com"]
        )
        // email is deterministic in the policy: the same normalized value, the same token.
        #expect(emails[0] == emails[1])
        #expect(Self.isOpaqueToken(emails[0]))
        let card = try await vault.tokenize("card", subject: "cust-mask", ["4111 1111 1111 1111"])[0]
        // card is format-preserving: 16 digits, the last four kept, never a valid (Luhn) card.
        #expect(card.count == 16 && card.allSatisfy(\.isNumber) && card.hasSuffix("1111"))
        let tokenIsValue = card == "4111111111111111"
        #expect(!tokenIsValue, "the card token is not the card number")
        #expect(!luhnValid(card))
        let ssn = try await vault.tokenize("ssn", subject: "cust-mask", ["123-45-6789"])[0]

        let masked = try await vault.cvault("detokenize", "--purpose", "support", emails[0], card, ssn)
        #expect(masked.status == 0, "\(masked.stderr)")
        expectLines(masked, ["A***@example.com", "************1111", "***-**-6789"], "masks")

        let json = try await vault.cvault("detokenize", "--purpose", "support", "--json", emails[0])
        #expect(json.status == 0)
        let object = try #require(jsonObjects(json).first)
        #expect(object["reveal"] as? String == "masked")
        let same = object["value"] as? String == "A***@example.com"
        #expect(same, "the JSON line holds the mask")
    }

    @Test("a denied or unknown token prints an empty line, a note on stderr, and exits 1; the others still print")
    func deniedTokens() async throws {
        let vault = try SharedVault.vault()
        let email = try await vault.tokenize("email", subject: "cust-deny", ["grace@example.org"])[0]
        let ssn = try await vault.tokenize("ssn", subject: "cust-deny", ["078-05-1120"])[0]
        let unknown = "tok_" + String(repeating: "A", count: 22)

        let run = try await vault.cvault("detokenize", "--purpose", "demo", ssn, email, unknown)
        #expect(run.status == 1)
        expectLines(run, ["", "grace@example.org", ""], "only the allowed token's value")
        #expect(run.errorLines == ["cvault: error: token 0: denied", "cvault: error: token 2: not_found"])
        expectNoLeak(run, of: ["078-05-1120", "078051120"], "a denied value")

        // A purpose no rule lists denies every kind.
        let other = try await vault.cvault("detokenize", "--purpose", "marketing", email)
        #expect(other.status == 1)
        expectLines(other, [""], "nothing revealed")
        #expect(other.errorLines == ["cvault: error: token 0: denied"])
        expectNoLeak(other, of: ["grace@example.org"], "a denied value")
    }

    @Test("--json prints one exact JSON object per token: values with newlines and backslashes, and errors")
    func jsonOutput() async throws {
        let vault = try SharedVault.vault()
        let texts = ["first line\nsecond line", #"C:\temp"#]
        let tokens = try await vault.tokenize("text", subject: "cust-json", texts)
        let unknown = "tok_" + String(repeating: "z", count: 22)

        let json = try await vault.cvault(["detokenize", "--purpose", "demo", "--json"] + tokens + [unknown])
        #expect(json.status == 1)
        #expect(json.errorLines == ["cvault: error: token 2: not_found"])
        let objects = try jsonObjects(json)
        #expect(objects.count == 3)
        let exact =
            objects.count == 3 && objects[0]["value"] as? String == texts[0]
            && objects[1]["value"] as? String == texts[1]
        #expect(exact, "the JSON lines hold the exact values")
        let plainOnly = objects.prefix(2).allSatisfy { $0["reveal"] as? String == "plain" && $0.count == 2 }
        #expect(plainOnly, "each value line holds exactly value and reveal: plain")
        #expect(objects.last?["error"] as? String == "not_found")
        #expect(objects.last?.count == 1)

        // Without --json, one value per line: newline and backslash escaped.
        let plain = try await vault.cvault(["detokenize", "--purpose", "demo"] + tokens)
        #expect(plain.status == 0)
        expectLines(plain, [#"first line\nsecond line"#, #"C:\\temp"#], "escaped values")
    }

    @Test("the policy comes from --policy as well as CVAULT_POLICY; with neither, cvault refuses")
    func policyFlag() async throws {
        let vault = try SharedVault.vault()
        let token = try await vault.tokenize("date", subject: "cust-flag", ["1815-12-10"])[0]

        let flag = try await vault.cvault(
            "detokenize",
            "--purpose",
            "support",
            "--policy",
            vault.policy,
            token,
            environment: ["CVAULT_POLICY": nil]
        )
        #expect(flag.status == 0, "\(flag.stderr)")
        expectLines(flag, ["1815"], "the masked date")

        let none = try await vault.cvault("detokenize", "--purpose", "demo", token, environment: ["CVAULT_POLICY": nil])
        #expect(none.status == 1)
        #expect(none.stdout == "")
        #expect(none.errorLines == ["cvault: error: no policy file: without one cvault denies everything"])
        #expect(none.hintLines == ["cvault: hint: pass --policy FILE or set CVAULT_POLICY (see docs/POLICY.md)"])
    }
}

/// The JSON objects of a run's standard output, one per line.
func jsonObjects(_ run: CVaultRun) throws -> [[String: Any]] {
    try run.lines.map { line in
        try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            "a line is not a JSON object"
        )
    }
}

func luhnValid(_ digits: String) -> Bool {
    let values = digits.reversed().compactMap(\.wholeNumberValue)
    let sum = values.enumerated().reduce(0) { total, pair in
        let (i, d) = pair
        return total + (i % 2 == 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d)
    }
    return values.count == digits.count && sum % 10 == 0
}
