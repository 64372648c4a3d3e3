import ArgumentParser
import Foundation
import VaultCore

struct DetokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Reveal tokens through the gate, for a declared purpose, and print one line per token.",
        discussion: """
            The caller is this process's uid, matched against the policy's identities like a socket peer; \
            every decision is written to the audit log before anything is printed. A token that is not revealed \
            prints an empty line, with the reason on standard error; the exit status is then 1 (3 if a row \
            failed authentication). Newlines and backslashes inside values print as \\n and \\\\; use --json \
            for exact output.
            """)

    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions
    @OptionGroup var policy: PolicyOption

    @Option(help: "Why you need the values (a purpose the policy grants).") var purpose: String
    @Flag(help: "Print the items as JSON lines.") var json = false
    @Argument(help: "Tokens (else read from standard input).") var tokens: [String] = []

    func run() async throws {
        try await reporting {
            let tokens = argumentsOrStdin(self.tokens)
            let session = try await VaultSession.open(location, unseal, policy: policy)
            let items = try await session.vault.detokenize(tokens, purpose: purpose, caller: session.caller)
            try await session.finish()
            try printReveal(items, json: json)
        }
    }
}

/// Prints detokenize items in order; shared by the offline and the socket paths.
func printReveal(_ items: [RevealItem], json: Bool) throws {
    var worst: Int32 = 0
    for (index, item) in items.enumerated() {
        switch item {
        case .value(let value, let mode):
            if json {
                print(jsonLine(["value": value, "reveal": mode.rawValue]))
            } else {
                print(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n"))
            }
        case .error(let failure):
            if json { print(jsonLine(["error": failure.rawValue])) } else { print("") }
            FileHandle.standardError.write("cvault: error: token \(index): \(failure.rawValue)\n")
            worst = max(worst, failure == .integrity ? 3 : 1)
        }
    }
    if worst != 0 { throw ExitCode(worst) }
}

func jsonLine(_ object: [String: String]) -> String {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}
