import ArgumentParser
import VaultClient
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
            if let path = socket.path {
                print(try await withClient(path) { try await $0.erase(subject: subject) })
                return
            }
            let session = try await VaultSession.open(location, unseal, policy: policy)
            let erased: Int
            do {
                erased = try await session.vault.erase(subject: subject, caller: session.caller)
            } catch let error as VaultError where error.isNotScrubbed {
                // Committed and audited, not yet scrubbed: still seal the audit head and try the scrub once more
                // on the way out, then say what happened.
                try? await session.finish(checkpoint: true)
                throw error
            }
            try await session.finish()
            print(erased)
        }
    }
}
