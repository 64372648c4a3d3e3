import Foundation
import Testing

/// One invalid value fails the whole batch: exit 1, a message naming the kind and the position, never the
/// value, and nothing stored. The tests share a vault holding one token; none of them may add to it.
@Suite(
    "cvault tokenize refuses bad input",
    .sharedVault(prepare: { vault in
        _ = try await vault.tokenize("email", subject: "cust-seed", ["seed@example.com"])
    })
)
struct BadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let kind: String
        let good: String
        let bad: String
        let reason: String
        /// Too long for an argument list, or holding a newline: sent on standard input.
        var viaStdin = false
        var testDescription: String { kind }
    }

    static let cases: [Case] = [
        Case(kind: "email", good: "grace@example.org", bad: "ada.lovelace.example.com", reason: "has no '@'"),
        Case(
            kind: "phone",
            good: "+44 20 7946 0958",
            bad: "+44 20 7946 095x",
            reason: "has a character other than digits, a leading '+', spaces, dashes, dots and parentheses"
        ),
        Case(
            kind: "card",
            good: "4111 1111 1111 1111",
            bad: "4111 1111 1111 1112",
            reason: "fails the Luhn check (a digit is mistyped, missing or swapped)"
        ),
        Case(
            kind: "ssn",
            good: "123-45-6789",
            bad: "666-45-6789",
            reason: "has an area number (first three digits) of 000, 666 or 900 to 999, which are never issued"
        ),
        Case(kind: "name", good: "Ada Lovelace", bad: "8675 309", reason: "has no letter"),
        Case(
            kind: "address",
            good: "221B Baker Street",
            bad: "10 Downing Street\u{7}London",
            reason: "has a control character (only line breaks are allowed)"
        ),
        Case(kind: "date", good: "1815-12-10", bad: "1987-02-30", reason: "has a day that its month does not have"),
        Case(
            kind: "text",
            good: "likes cats",
            bad: "secret diary " + String(repeating: "x", count: 70_000),
            reason: "is 70013 bytes; values are limited to 65536 bytes",
            viaStdin: true
        ),
    ]

    @Test("an invalid value at index 1 fails the batch, naming kind and index, never the value", arguments: cases)
    func invalidValue(_ test: Case) async throws {
        let vault = try SharedVault.vault()
        let subject = "cust-bad-" + test.kind
        let base = ["tokenize", "--kind", test.kind, "--subject", subject]
        let run =
            test.viaStdin
            ? try await vault.cvault(base, stdin: test.good + "\n" + test.bad + "\n")
            : try await vault.cvault(base + [test.good, test.bad])
        #expect(run.status == 1)
        #expect(run.stdout == "")
        #expect(run.errorLines == ["cvault: error: \(test.kind) value at index 1: \(test.reason)"])
        #expect(
            run.hintLines == ["cvault: hint: fix that value and resend the batch; nothing from this batch was stored"]
        )
        expectNoLeak(run, of: [test.bad, test.good], "bad \(test.kind)")

        let counts = try await vault.counts()
        #expect(counts.subjects == 1 && counts.tokens == 1, "nothing from the batch was stored")
    }

    @Test("an empty line on standard input is an empty value at its index")
    func emptyValueFromStandardInput() async throws {
        let vault = try SharedVault.vault()
        let run = try await vault.cvault(
            "tokenize",
            "--kind",
            "name",
            "--subject",
            "cust-bad-empty",
            stdin: "Ada Lovelace\nGrace Hopper\n\n"
        )
        #expect(run.status == 1)
        #expect(run.stdout == "")
        #expect(run.errorLines == ["cvault: error: name value at index 2: is empty"])
        expectNoLeak(run, of: ["Ada Lovelace", "Grace Hopper"], "good values of a refused batch")
        let counts = try await vault.counts()
        #expect(counts.subjects == 1 && counts.tokens == 1, "nothing from the batch was stored")
    }
}
