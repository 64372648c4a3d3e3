import Foundation
import Testing

/// Where the passphrase comes from, and what happens when it is wrong or missing.
@Suite("cvault passphrase handling", .sharedVault)
struct PassphraseTests {
    @Test("a wrong passphrase: exit 1, says it does not open the keyring, and never echoes the passphrase")
    func wrongPassphrase() async throws {
        let vault = try SharedVault.vault()
        let wrong = "wrong-passphrase-" + randomHex(12)
        let run = try await vault.cvault(
            "tokenize",
            "--kind",
            "email",
            "--subject",
            "cust-wrong",
            "ada@example.com",
            environment: ["CVAULT_PASSPHRASE": wrong]
        )
        #expect(run.status == 1)
        #expect(run.stdout == "")
        #expect(run.errorLines == ["cvault: error: the passphrase does not open keyring \(vault.keyring)"])
        #expect(
            run.hintLines == [
                "cvault: hint: check CVAULT_PASSPHRASE or --passphrase-file; the keyring itself is unchanged"
            ]
        )
        expectNoLeak(run, of: [wrong, vault.passphrase, "ada@example.com"], "wrong passphrase")
        let counts = try await vault.counts()
        #expect(counts.subjects == 0 && counts.tokens == 0, "nothing was stored")
    }

    @Test("--passphrase-file (mode 0600) opens the keyring, and wins over CVAULT_PASSPHRASE")
    func passphraseFile() async throws {
        let vault = try SharedVault.vault()
        let file = vault.root + "/passphrase-ok"
        try writePrivateFile(file, vault.passphrase + "\n")

        let alone = try await vault.cvault(
            "detokenize",
            "--passphrase-file",
            file,
            "--purpose",
            "demo",
            "tok_" + String(repeating: "B", count: 22),
            environment: ["CVAULT_PASSPHRASE": nil]
        )
        // The keyring opened: the token was looked up and is unknown.
        #expect(alone.status == 1)
        #expect(alone.errorLines == ["cvault: error: token 0: not_found"])

        let wrong = "wrong-passphrase-" + randomHex(12)
        let both = try await vault.cvault(
            "detokenize",
            "--passphrase-file",
            file,
            "--purpose",
            "demo",
            "tok_" + String(repeating: "C", count: 22),
            environment: ["CVAULT_PASSPHRASE": wrong]
        )
        #expect(both.errorLines == ["cvault: error: token 0: not_found"])
        expectNoLeak(both, of: [wrong, vault.passphrase], "passphrase file")
    }

    @Test("a passphrase file others can read is refused, naming chmod 600")
    func exposedPassphraseFile() async throws {
        let vault = try SharedVault.vault()
        let file = vault.root + "/passphrase-0644"
        try writePrivateFile(file, vault.passphrase + "\n", mode: 0o644)
        let run = try await vault.cvault(
            "detokenize",
            "--passphrase-file",
            file,
            "--purpose",
            "demo",
            "tok_" + String(repeating: "D", count: 22),
            environment: ["CVAULT_PASSPHRASE": nil]
        )
        #expect(run.status == 1)
        #expect(run.stdout == "")
        #expect(
            run.errorLines == ["cvault: error: passphrase file \(file) is accessible to group or others (mode 644)"]
        )
        #expect(run.hintLines == ["cvault: hint: run `chmod 600 \(file)`"])
        expectNoLeak(run, of: [vault.passphrase], "exposed passphrase file")
    }

    @Test("no passphrase and no terminal: a clear error saying how to give one", arguments: [nil, ""] as [String?])
    func noPassphrase(_ environmentValue: String?) async throws {
        let vault = try SharedVault.vault()
        // Standard input is /dev/null: not a terminal, so cvault must not try to prompt.
        let run = try await vault.cvault(
            "tokenize",
            "--kind",
            "email",
            "--subject",
            "cust-none",
            "ada@example.com",
            environment: ["CVAULT_PASSPHRASE": environmentValue]
        )
        #expect(run.status == 1)
        #expect(run.stdout == "")
        #expect(run.errorLines == ["cvault: error: no passphrase given"])
        #expect(
            run.hintLines == [
                "cvault: hint: set CVAULT_PASSPHRASE, pass --passphrase-file FILE, or run on a terminal to be asked"
            ]
        )
    }
}
