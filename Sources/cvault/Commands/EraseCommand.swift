import ArgumentParser
import VaultCore

struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Crypto-shred a subject: destroy its data key and all its tokens. Prints how many tokens went.",
        discussion: "Backups made before the erase still hold the subject's wrapped data key: see docs/DESIGN.md."
    )

    @OptionGroup var socket: SocketOption
    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions
    @OptionGroup var policy: PolicyOption

    @Option(help: "The subject to erase.") var subject: String

    func run() async throws {
        try await reporting {
            let subject = try Subject(self.subject)
            print(try await socket.operations(location, unseal, policy).erase(subject: subject))
        }
    }
}
