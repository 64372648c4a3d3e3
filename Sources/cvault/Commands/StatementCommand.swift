import ArgumentParser
import VaultCore
import VaultJSON

struct StatementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statement",
        abstract: "Check signed statements (access reports, erasure receipts) offline: no vault, no passphrase.",
        subcommands: [Verify.self]
    )
}

extension StatementCommand {
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check a statement file; exit 0 if it is exactly as the vault signed it, 3 on any change or a wrong key.",
            discussion: "Needs only the file. See docs/AUDIT.md (Signed statements) and docs/OPERATIONS.md."
        )

        static let publicKeyHelp = ArgumentHelp(
            "The vault's audit public key (hex) the statement must be signed with; an operator prints it with `cvault keys list`.",
            valueName: "hex"
        )

        @Argument(help: "The statement file.") var file: String
        @Option(help: publicKeyHelp) var publicKey: String?

        func run() async throws {
            try await reporting {
                let expected = try publicKey.map { hex throws(VaultError) in try auditPublicKey(hex: hex) }
                let statement = try Statement.verify(contentsOf: file, publicKey: expected)
                print(Self.summary(of: statement, pinned: expected != nil))
            }
        }

        /// What a person checking the file needs to read: what it is, what it covers, who signed it, and (for
        /// an unpinned key) what the check did not prove.
        static func summary(of statement: Statement, pinned: Bool) -> String {
            let key = Hex.encode(statement.publicKey)
            var lines = [
                "statement intact: \(statement.category.words), issued \(RFC3339.format(statement.issuedAt))",
                "covers audit \(statement.head)",
                pinned ? "signed by the expected audit key \(key)" : "signed by audit key \(key)",
                "body: \(statement.body.summary)",
            ]
            if !pinned {
                lines.append(
                    "note: checked against the key the statement names, which proves only that the file is unchanged "
                        + "since that key signed it, not that the vault signed it; compare the key with the vault's "
                        + "audit public key (its operator prints it with `cvault keys list`), or pass it with --public-key"
                )
            }
            return lines.joined(separator: "\n")
        }
    }
}
