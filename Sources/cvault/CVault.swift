import ArgumentParser
import Foundation
import VaultCore

@main
struct CVault: AsyncParsableCommand {
    /// Before anything else (before any key, passphrase or argument is touched): the Swift runtime's crash
    /// backtracer off, which re-executes this binary once when `SWIFT_BACKTRACE` is not set
    /// (`ProcessHardening.disableBacktracerByReexec`). If that fails, cvault stops rather than hold keys with
    /// the backtracer on.
    static func main() async {
        if let problem = ProcessHardening.disableBacktracerByReexec() {
            printError(
                problem,
                hint:
                    "set \(ProcessHardening.backtraceVariable)=\(ProcessHardening.backtraceOff) in cvault's environment"
            )
            Foundation.exit(1)
        }
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "cvault",
        abstract: "An encrypted customer-data vault with tokenization.",
        discussion: "Docs: README.md, docs/DESIGN.md, docs/POLICY.md, docs/AUDIT.md, Keys/README.md.",
        version: cvaultVersion,
        subcommands: [
            InitCommand.self, TokenizeCommand.self, DetokenizeCommand.self, EraseCommand.self,
            StatusCommand.self, KeysCommand.self, PolicyCommand.self, AuditCommand.self, ServeCommand.self,
            BackupCommand.self, RestoreCommand.self, VerifyCommand.self, StatementCommand.self, BenchCommand.self,
            ConsentCommand.self, SubjectCommand.self, PurgeCommand.self, MigrateCommand.self,
        ]
    )
}

let cvaultVersion = "0.1.0"
