import Foundation
import Testing

/// A keyring or database that group or others can reach is refused by every command that opens it, with the
/// `chmod 600` that fixes it. Serialized: each test loosens a file the other's commands also open.
@Suite("cvault refuses exposed vault files", .serialized, .sharedVault)
struct FilePermissionTests {
    static let token = "tok_" + String(repeating: "E", count: 22)
    static let commandsOpeningTheKeyring: [[String]] = [
        ["tokenize", "--kind", "email", "--subject", "cust-perm", "ada@example.com"],
        ["detokenize", "--purpose", "demo", token],
        ["erase", "--subject", "cust-perm"],
        ["status"],
        ["keys", "list"],
        ["keys", "list", "--json"],
        ["audit", "verify"],
        ["audit", "head"],
    ]
    static let commandsOpeningTheDatabase = commandsOpeningTheKeyring + [["audit", "export"]]

    @Test(
        "a keyring with mode 0644 or 0640 is refused, naming the file and `chmod 600 <path>`",
        arguments: [0o644, 0o640] as [mode_t]
    )
    func exposedKeyring(_ mode: mode_t) async throws {
        let vault = try SharedVault.vault()
        try setMode(vault.keyring, mode)
        defer { try? setMode(vault.keyring, 0o600) }
        for command in Self.commandsOpeningTheKeyring {
            let run = try await vault.cvault(command)
            let name = command.joined(separator: " ")
            #expect(run.status == 1, "\(name)")
            #expect(run.stdout == "", "\(name)")
            #expect(
                run.errorLines == [
                    "cvault: error: keyring \(vault.keyring) is accessible to group or others (mode \(String(mode, radix: 8)))"
                ],
                "\(name)"
            )
            #expect(run.hintLines == ["cvault: hint: run `chmod 600 \(vault.keyring)`"], "\(name)")
        }
        try setMode(vault.keyring, 0o600)
        #expect(try await vault.cvault("status").status == 0, "chmod 600 fixes it")
    }

    @Test("a database with mode 0644 is refused, naming the file and `chmod 600 <path>`")
    func exposedDatabase() async throws {
        let vault = try SharedVault.vault()
        try setMode(vault.database, 0o644)
        defer { try? setMode(vault.database, 0o600) }
        for command in Self.commandsOpeningTheDatabase {
            let run = try await vault.cvault(command)
            let name = command.joined(separator: " ")
            #expect(run.status == 1, "\(name)")
            #expect(run.stdout == "", "\(name)")
            #expect(
                run.errorLines == [
                    "cvault: error: the vault database is readable or writable by group or others "
                        + "(\(vault.database) has mode 0644); fix it with `chmod 600 \(vault.database)`"
                ],
                "\(name)"
            )
            #expect(
                run.hintLines == [
                    "cvault: hint: run `chmod 600 \(vault.database)`, then check who could have copied the file meanwhile"
                ],
                "\(name)"
            )
        }
        try setMode(vault.database, 0o600)
        #expect(try await vault.cvault("audit", "verify").status == 0, "chmod 600 fixes it")
    }
}
