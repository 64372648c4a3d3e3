import Foundation
import Testing

/// Values in and out of the CLI: taken from standard input (arguments are readable by every local user),
/// and printed so that stored control characters cannot act on the terminal.
@Suite struct CLIValueHandlingTests {
    /// Help text with its line wrapping undone.
    static func words(_ text: String) -> String { text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }

    @Test func tokenizeReadsStandardInputAndWarnsAboutArguments() async throws {
        try await VaultFixture.with { vault in
            let piped = try await vault.cvault(
                ["tokenize", "--kind", "text", "--subject", "cust-1"],
                stdin: "first\nsecond\n"
            )
            #expect(piped.status == 0 && piped.lines.count == 2, "\(piped.stderr)")
            #expect(!piped.stderr.contains("warning"))
            let argued = try await vault.cvault(["tokenize", "--kind", "text", "--subject", "cust-1", "third"])
            #expect(argued.status == 0 && argued.lines.count == 1)
            #expect(
                argued.stderr.contains(
                    "cvault: warning: values given as arguments are visible to every local user "
                        + "(ps, /proc/PID/cmdline); give them on standard input instead"
                )
            )
            let help = try await vault.cvault(["tokenize", "--help"])
            #expect(Self.words(help.stdout).contains("Give the values on standard input, one per line"))
        }
    }

    /// ESC sequences (colour, cursor moves, a window title), a C1 CSI, a bell, carriage return, tab and a
    /// backslash, stored through standard input, print escaped; `--json` gives the exact bytes.
    @Test func detokenizeEscapesEveryControlCharacter() async throws {
        try await VaultFixture.with { vault in
            let value = "a\u{1b}[2J\u{1b}]0;owned\u{07}b\rc\td\u{9b}31m\\e\u{7f}"
            let stored = try await vault.cvault(
                ["tokenize", "--kind", "text", "--subject", "cust-1"],
                stdin: value + "\n"
            )
            try #require(stored.status == 0 && stored.lines.count == 1, "\(stored.stderr)")
            let shown = try await vault.cvault(["detokenize", "--purpose", "demo"], stdin: stored.lines[0] + "\n")
            #expect(shown.status == 0, "\(shown.stderr)")
            // Bools only, so a failure prints no value (not even a test one).
            let escaped = shown.lines == [#"a\x1b[2J\x1b]0;owned\x07b\rc\td\u{9b}31m\\e\x7f"#]
            let raw = shown.stdout.unicodeScalars.filter { $0.properties.generalCategory == .control && $0 != "\n" }
                .count
            #expect(escaped, "detokenize printed \(shown.lines.count) line(s) with \(raw) raw control character(s)")
            #expect(raw == 0)
            let exact = try await vault.cvault(
                ["detokenize", "--purpose", "demo", "--json"],
                stdin: stored.lines[0] + "\n"
            )
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(exact.lines[0].utf8)) as? [String: String]
            )
            let exactBytes = object["value"] == value
            #expect(exactBytes, "--json did not give the stored bytes")
            let help = try await vault.cvault(["detokenize", "--help"])
            #expect(Self.words(help.stdout).contains("For the exact bytes use --json"))
        }
    }
}
