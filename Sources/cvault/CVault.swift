import ArgumentParser

@main
struct CVault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cvault",
        abstract: "An encrypted customer-data vault with tokenization.",
        discussion: "Docs: README.md, docs/DESIGN.md, docs/POLICY.md, docs/AUDIT.md, Keys/README.md.",
        version: cvaultVersion,
        subcommands: [
            InitCommand.self, TokenizeCommand.self, DetokenizeCommand.self, EraseCommand.self,
            StatusCommand.self, KeysCommand.self, PolicyCommand.self, AuditCommand.self, ServeCommand.self,
            BackupCommand.self, RestoreCommand.self, VerifyCommand.self, BenchCommand.self,
        ])
}

let cvaultVersion = "0.1.0"
