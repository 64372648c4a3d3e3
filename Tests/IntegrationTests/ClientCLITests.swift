import Foundation
import Testing
import VaultClient

/// `cvault tokenize | detokenize | erase` in socket mode: through a running server, same output as offline.
@Suite(.serialized)
struct ClientCLITests {
    @Test func socketModeRoundTrip() async throws {
        try await withServer { fixture, client in
            // No passphrase or policy is needed in socket mode: the server holds both.
            let bare = ["CVAULT_PASSPHRASE": "", "CVAULT_POLICY": ""]
            let tokenized = try runCVault(
                [
                    "tokenize", "--socket", fixture.socketPath, "--kind", "email", "--subject", "cust-9",
                    "ada@Example.COM", "bob@example.org",
                ],
                environment: bare
            )
            #expect(tokenized.status == 0, "\(tokenized.stderr)")
            let tokens = tokenized.stdout.split(separator: "\n").map(String.init)
            #expect(tokens.count == 2)

            // CVAULT_SOCKET instead of --socket; tokens from standard input; one token unknown.
            let env = bare.merging(["CVAULT_SOCKET": fixture.socketPath]) { $1 }
            let revealed = try runCVault(
                ["detokenize", "--purpose", "demo"],
                environment: env,
                stdin: (tokens + ["tok_unknown"]).joined(separator: "\n") + "\n"
            )
            #expect(revealed.stdout == "ada@example.com\nbob@example.org\n\n")
            #expect(revealed.stderr == "cvault: error: token 2: not_found\n")
            #expect(revealed.status == 1)

            let json = try runCVault(["detokenize", "--purpose", "support", "--json", tokens[0]], environment: env)
            #expect(json.status == 0)
            #expect(json.stdout == "{\"reveal\":\"masked\",\"value\":\"a***@example.com\"}\n")

            // The server saw the CLI's calls as this uid's identity: the tokens work from the library too.
            #expect(
                try await client.detokenize(tokens: [tokens[1]], purpose: "demo") == [
                    .value("bob@example.org", reveal: "plain")
                ]
            )

            let erased = try runCVault(["erase", "--subject", "cust-9"], environment: env)
            #expect(erased.status == 0)
            #expect(erased.stdout == "2\n")
        }
    }

    @Test func socketModeErrors() async throws {
        try await withServer { fixture, _ in
            let env = ["CVAULT_SOCKET": fixture.socketPath]
            let badValue = try runCVault(
                ["tokenize", "--kind", "card", "--subject", "cust-9"],
                environment: env,
                stdin: "4111111111111112\n"
            )
            #expect(badValue.status == 1)
            #expect(badValue.stdout.isEmpty)
            #expect(badValue.stderr.hasPrefix("cvault: error: Invalid params (-32602): card value at index 0: "))

            let forbidden = try runCVault(
                ["tokenize", "--kind", "ssn", "--subject", "cust-9"],
                environment: env,
                stdin: "123-45-6789\n"
            )
            #expect(forbidden.status == 1)
            #expect(forbidden.stderr.hasPrefix("cvault: error: forbidden (-32002)"))

            let limits = try runCVault(
                [
                    "tokenize", "--kind", "text", "--subject", "cust-9", "--purposes", "demo",
                    "--max-reveals", "1", "--expires-at", "2099-01-01T00:00:00Z", "secret",
                ],
                environment: env
            )
            #expect(limits.status == 0, "\(limits.stderr)")
            let token = limits.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try runCVault(["detokenize", "--purpose", "demo", token], environment: env).stdout == "secret\n")
            let spent = try runCVault(["detokenize", "--purpose", "demo", token], environment: env)
            #expect(spent.status == 1)
            #expect(spent.stderr == "cvault: error: token 0: denied\n")

            fixture.stopServer()
            let down = try runCVault(["erase", "--subject", "cust-9"], environment: env)
            #expect(down.status == 1)
            #expect(down.stderr.hasPrefix("cvault: error: cannot connect: "))
            #expect(down.stderr.contains("cvault: hint: "))
        }
    }

    @Test func withoutASocketTheOfflineModeStays() async throws {
        try await withServer { fixture, _ in
            // Same vault, opened directly (the server is stopped so the CLI has the files to itself).
            fixture.stopServer()
            var env = fixture.environment
            env["CVAULT_SOCKET"] = ""
            let offline = try runCVault(
                ["tokenize", "--kind", "email", "--subject", "cust-10", "ada@example.com"],
                environment: env
            )
            #expect(offline.status == 0, "\(offline.stderr)")
            #expect(offline.stdout.hasPrefix("tok_"))
        }
    }
}
