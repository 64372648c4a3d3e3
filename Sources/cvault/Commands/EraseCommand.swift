import ArgumentParser
import Foundation
import VaultCore
import VaultJSON

struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Crypto-shred a subject: destroy its data key and all its tokens. Prints how many tokens went.",
        discussion: """
            With --receipt FILE the erasure receipt (a statement signed with the audit key: the subject, the \
            tokens destroyed per kind, the data key's version, the time and the erase's audit record) is \
            written to FILE, which must not exist yet, and summed up on a second line; `cvault statement verify \
            FILE` checks it. Backups made before the erase still hold the subject's wrapped data key: see \
            docs/DESIGN.md.
            """
    )

    @OptionGroup var socket: SocketOption
    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions
    @OptionGroup var policy: PolicyOption

    @Option(help: "The subject to erase.") var subject: String
    @Option(help: ArgumentHelp("Write the erasure receipt to this new file.", valueName: "file")) var receipt: String?

    func run() async throws {
        try await reporting {
            let subject = try Subject(self.subject)
            // Refused before anything is erased: once the erase is done, a receipt that cannot be written is lost.
            if let receipt {
                let folder = (receipt as NSString).deletingLastPathComponent
                if FileManager.default.fileExists(atPath: receipt) {
                    throw VaultError(
                        .invalidRequest,
                        "\(receipt) already exists; nothing was erased",
                        hint: "name a new file for the receipt"
                    )
                }
                guard FileManager.default.isWritableFile(atPath: folder.isEmpty ? "." : folder) else {
                    throw VaultError(
                        .invalidRequest,
                        "cannot write the receipt into \(folder.isEmpty ? "." : folder); nothing was erased",
                        hint: "name a file in a folder that exists and that you may write to"
                    )
                }
            }
            let erased = try await socket.operations(location, unseal, policy).erase(subject: subject)
            print(erased.erased)
            guard let receipt else { return }
            print(try Self.write(erased.receipt, to: receipt, subject: subject))
        }
    }

    /// Checks the receipt the vault issued (the same check as `cvault statement verify`), writes it to `path`
    /// exactly as issued, and returns the summary line. Every failure says the erase itself is done.
    static func write(_ bytes: [UInt8]?, to path: String, subject: Subject) throws(VaultError) -> String {
        let done = "subject \(subject) is erased, but"
        guard let bytes else {
            throw VaultError(.internal, "\(done) the server issued no receipt", hint: "upgrade the server")
        }
        let statement: Statement
        do {
            statement = try Statement.verify(fileBytes: bytes)
        } catch {
            throw VaultError(.integrity, "\(done) its receipt does not verify: \(error.message)")
        }
        guard statement.category == .erasureReceipt else {
            throw VaultError(.integrity, "\(done) the vault answered a \(statement.category.words), not a receipt")
        }
        do {
            try FileSafety.writeAtomically(bytes, to: path, replace: false)
        } catch {
            throw VaultError(
                error.code,
                "\(done) its receipt could not be written: \(error.message)",
                hint: "the erase's audit record (seq \(statement.head.seq)) holds what the receipt says"
            )
        }
        return "erasure receipt written to \(path): " + summary(statement)
    }

    /// `3 tokens destroyed (card 1, email 2), data key version 1, audit record 57`; `no data key` when the subject
    /// held none.
    static func summary(_ statement: Statement) -> String {
        let members = statement.body.members
        var kinds: [String] = []
        if case .object(let destroyed)? = members["tokens_destroyed"] {
            kinds = destroyed.keys.sorted().map { "\($0) \(destroyed[$0]?.intValue ?? 0)" }
        }
        let total = members["tokens_destroyed_total"]?.intValue ?? 0
        var text = "\(total) \(total == 1 ? "token" : "tokens") destroyed"
        text += kinds.isEmpty ? "" : " (\(kinds.joined(separator: ", ")))"
        text += members["data_key_version"]?.intValue.map { ", data key version \($0)" } ?? ", no data key"
        return text + ", audit record \(statement.head.seq)"
    }
}
