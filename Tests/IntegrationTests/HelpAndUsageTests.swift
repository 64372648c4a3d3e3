import Foundation
import Testing

@Suite("cvault help and usage errors")
struct HelpAndUsageTests {
    static let commands = ["init", "tokenize", "detokenize", "erase", "status", "keys", "policy", "audit", "serve"]

    @Test("--help lists every command")
    func helpListsCommands() async throws {
        let run = try await CVaultProcess.run(["--help"], environment: [:])
        #expect(run.status == 0)
        #expect(run.stdout.contains("SUBCOMMANDS:"))
        let listed = run.lines.compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            return line.split(separator: " ").first.map(String.init)
        }
        for command in Self.commands {
            #expect(listed.contains(command), "\(command) is listed")
        }
    }

    @Test("--version prints the version")
    func version() async throws {
        let run = try await CVaultProcess.run(["--version"], environment: [:])
        #expect(run.status == 0)
        #expect(run.stdout == "0.1.0\n")
    }

    @Test("tokenize --kind bogus names the valid kinds, before asking for any passphrase")
    func unknownKind() async throws {
        try await VaultFixture.with { vault in
            let run = try await vault.cvault(
                "tokenize",
                "--kind",
                "bogus",
                "--subject",
                "cust-1",
                "value",
                environment: ["CVAULT_PASSPHRASE": nil]
            )
            #expect(run.status == 1)
            #expect(run.stdout == "")
            #expect(run.errorLines == ["cvault: error: unknown kind \"bogus\""])
            #expect(run.hintLines == ["cvault: hint: use one of: email, phone, card, ssn, name, address, date, text"])
        }
    }

    @Test("a missing option or an unknown command is a usage error with a non-zero exit")
    func usageErrors() async throws {
        let missing = try await CVaultProcess.run(["tokenize", "--subject", "cust-1", "value"], environment: [:])
        #expect(missing.status == 64, "argument-parser's usage exit (EX_USAGE)")
        #expect(missing.stderr.contains("Missing expected argument '--kind <kind>'"))

        let unknown = try await CVaultProcess.run(["frobnicate"], environment: [:])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("frobnicate"))
    }

    @Test("a command run where no vault exists says so and how to make one")
    func noVault() async throws {
        try await VaultFixture.with(initialized: false) { vault in
            let run = try await vault.cvault("status")
            #expect(run.status == 1)
            #expect(run.errorLines == ["cvault: error: keyring \(vault.keyring) does not exist"])
            #expect(run.hintLines == ["cvault: hint: run `cvault init` first, or pass the right --keys/--data folder"])
        }
    }
}
