import ArgumentParser
import Foundation
import VaultCore
import VaultJSON

struct DetokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Reveal tokens through the gate, for a declared purpose, and print one line per token.",
        discussion: """
            The caller is this process's uid, matched against the policy's identities like a socket peer; \
            every decision is written to the audit log before anything is printed. A token that is not revealed \
            prints an empty line, with the reason on standard error; the exit status is then 1 (3 if a row \
            failed authentication). Values print with every control character escaped, so a stored value cannot \
            drive the terminal: newline, carriage return and tab as \\n, \\r and \\t, other controls (ESC \
            included) as \\x1b or \\u{9b}, and a backslash as \\\\. For the exact bytes use --json (one JSON \
            object per line). Give tokens on standard input, one per line, rather than as arguments: arguments \
            are visible to every local user. With --socket (or CVAULT_SOCKET) the request goes to a running `cvault serve`, \
            which decides and audits as the socket peer's uid; the output is the same.
            """
    )

    @OptionGroup var socket: SocketOption
    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions
    @OptionGroup var policy: PolicyOption

    @Option(help: "Why you need the values (a purpose the policy grants).") var purpose: String
    @Flag(help: "Print the items as JSON lines.") var json = false
    @Argument(help: "Tokens (else one per line from standard input, which is preferred).") var tokens: [String] = []

    func run() async throws {
        try await reporting {
            let purpose = try Purpose(self.purpose)
            let tokens = argumentsOrStdin(self.tokens)
            let lines = try await socket.operations(location, unseal, policy).detokenize(tokens, purpose: purpose)
            try printReveal(lines, json: json)
        }
    }
}

/// Prints detokenize answers in order, the same for the local and the socket paths: a value (escaped for the
/// terminal, or as a JSON line), or an empty line with the reason on standard error. Exits 3 if a row failed
/// authentication, else 1 if any token was not revealed.
func printReveal(_ lines: [RevealLine], json: Bool) throws {
    var worst: Int32 = 0
    for (index, line) in lines.enumerated() {
        switch line {
        case .value(let value, let reveal):
            if json {
                print(jsonLine(["value": value, "reveal": reveal]))
            } else {
                print(escapedForTerminal(value))
            }
        case .refused(let failure):
            if json { print(jsonLine(["error": failure])) } else { print("") }
            FileHandle.standardError.write("cvault: error: token \(index): \(escapedForTerminal(failure))\n")
            worst = max(worst, failure == RevealFailure.integrity.rawValue ? 3 : 1)
        }
    }
    if worst != 0 { throw ExitCode(worst) }
}

/// `text` with every control character (Unicode category Cc: C0, DEL and C1, ESC and CSI among them) in a
/// visible escaped form, and backslashes doubled so the escapes are unambiguous: what a value holds can never
/// act on the terminal that shows it (move the cursor, retitle the window, rewrite earlier lines).
func escapedForTerminal(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.properties.generalCategory == .control:
            let hex = String(scalar.value, radix: 16)
            out += scalar.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{" + hex + "}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// One `--json` line: members sorted by name, escaped as Foundation's `JSONSerialization` escaped them when
/// this output was first defined.
func jsonLine(_ object: [String: String]) -> String {
    var json = JSONWriter(options: .foundation)
    json.value(.object(object.mapValues(JSONValue.string)))
    return json.text
}
