import ArgumentParser
import VaultCore

/// `cvault subject …`: what a customer asks of the vault about their data as a whole. Each subcommand is its
/// own small type (restriction: `SubjectRestrictCommand`, `SubjectUnrestrictCommand`; the access report and
/// the export: `SubjectReportCommand`, `SubjectExportCommand`).
struct SubjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subject",
        abstract: "Act on one customer's data as a whole.",
        subcommands: [
            SubjectRestrictCommand.self, SubjectUnrestrictCommand.self, SubjectReportCommand.self,
            SubjectExportCommand.self,
        ]
    )
}
