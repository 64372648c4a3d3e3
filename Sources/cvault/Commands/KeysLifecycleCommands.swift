import ArgumentParser
import Foundation
import VaultCore

#if canImport(Glibc)
import Glibc
#endif

extension KeysCommand {
    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make a new KEK version active; the old one becomes decrypt-only. A running server picks it up within a second."
        )
        @OptionGroup var location: VaultLocation
        @OptionGroup var unseal: UnsealOptions

        func run() async throws {
            try await reporting {
                let session = try await AdminSession.open(location, unseal)
                // Recorded before the keyring changes, so a kill between the two still leaves a trace.
                try await session.audit(
                    .keyRotate,
                    outcome: .started,
                    detail: "rotating from KEK v\(session.vault.keyring.activeKEKVersion)"
                )
                let rotated = try session.vault.keyring.rotateKEK()
                try await session.audit(
                    .keyRotate,
                    detail: "KEK v\(rotated.activeKEKVersion) active, keyring generation \(rotated.generation)"
                )
                try await session.finish()
                print(
                    "KEK v\(rotated.activeKEKVersion) is active; older versions are decrypt-only. Run `cvault keys rewrap` to move data keys to it."
                )
            }
        }
    }

    struct RotateTokenKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-token-key",
            abstract: "Use a new token key for deterministic tokens from now on; existing tokens keep working.",
            discussion:
                "Equal values tokenized after the rotation get new tokens, so joins across the rotation break (docs/OPERATIONS.md)."
        )
        @OptionGroup var location: VaultLocation
        @OptionGroup var unseal: UnsealOptions

        func run() async throws {
            try await reporting {
                let session = try await AdminSession.open(location, unseal)
                try await session.audit(
                    .keyRotateToken,
                    outcome: .started,
                    detail: "rotating from token key v\(session.vault.keyring.activeTokenKeyVersion)"
                )
                let rotated = try session.vault.keyring.rotateTokenKey()
                try await session.audit(
                    .keyRotateToken,
                    detail: "token key v\(rotated.activeTokenKeyVersion) active"
                )
                try await session.finish()
                print("token key v\(rotated.activeTokenKeyVersion) is active for new deterministic tokens")
            }
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Destroy a decrypt-only KEK version's material; refused while any data key still uses it."
        )
        @OptionGroup var location: VaultLocation
        @OptionGroup var unseal: UnsealOptions
        @Argument(help: "The KEK version to retire.") var version: Int

        func run() async throws {
            try await reporting {
                let session = try await AdminSession.open(location, unseal)
                let inUse = try await session.store.read { try $0.stats() }.dataKeysByKEK[version] ?? 0
                try await session.audit(
                    .keyRetire,
                    outcome: .started,
                    detail: "KEK v\(version), \(inUse) data key(s) use it"
                )
                do {
                    let retired = try session.vault.keyring.retireKEK(version: version, dataKeysUsingIt: inUse)
                    try await session.audit(
                        .keyRetire,
                        detail: "KEK v\(version) retired, keyring generation \(retired.generation)"
                    )
                } catch let error as VaultError {
                    try? await session.audit(
                        .keyRetire,
                        outcome: .refused,
                        detail: "KEK v\(version): \(error.message)"
                    )
                    try? await session.finish()
                    throw error
                }
                try await session.finish()
                print("KEK v\(version) retired: its material is gone from the keyring")
            }
        }
    }

    struct ChangePassphrase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "passphrase",
            abstract:
                "Re-seal the keyring under a new passphrase (atomically: the old or the new one opens it, never neither).",
            discussion:
                "The new passphrase comes from --new-passphrase-file, CVAULT_NEW_PASSPHRASE, or a prompt. Also turns a share-sealed keyring into a passphrase-sealed one."
        )
        @OptionGroup var location: VaultLocation
        @OptionGroup var unseal: UnsealOptions
        @Option(help: ArgumentHelp("Read the new passphrase from this file (mode 0600).", valueName: "file"))
        var newPassphraseFile: String?

        func run() async throws {
            try await reporting {
                let session = try await AdminSession.open(location, unseal)
                let fresh: SecureBytes
                if newPassphraseFile == nil, let secret = Secret.takeFromEnvironment("CVAULT_NEW_PASSPHRASE") {
                    fresh = secret
                } else if newPassphraseFile == nil && isatty(STDIN_FILENO) != 1 {
                    throw VaultError(
                        .invalidRequest,
                        "no new passphrase given",
                        hint: "pass --new-passphrase-file FILE or set CVAULT_NEW_PASSPHRASE"
                    )
                } else {
                    fresh = try Passphrase.read(file: newPassphraseFile, confirm: true, ignoreEnvironment: true)
                }
                try await session.audit(
                    .keyPassphrase,
                    outcome: .started,
                    detail: "re-sealing the keyring under a new passphrase"
                )
                let resealed = try session.vault.keyring.resealed(passphrase: fresh)
                try await session.audit(
                    .keyPassphrase,
                    detail: "keyring re-sealed under a new passphrase, generation \(resealed.generation)"
                )
                try await session.finish()
                print("keyring re-sealed under the new passphrase: the old passphrase (or shares) no longer opens it")
            }
        }
    }

    struct Rewrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-wrap every data key under an older KEK with the active one, in short transactions, while the server runs.",
            discussion:
                "Resumable: killed at any point, run it again to finish. Shows a progress bar on a terminal; --json prints progress records."
        )
        @OptionGroup var location: VaultLocation
        @OptionGroup var unseal: UnsealOptions
        @Option(help: "Data keys per transaction.") var batch = 500
        @Flag(help: "Print progress as JSON lines.") var json = false

        func run() async throws {
            try await reporting {
                let session = try await AdminSession.open(location, unseal)
                let bar = ProgressBar(json: json)
                let result = try await session.vault.rewrap(batch: batch, caller: nil, uid: getuid()) { bar.show($0) }
                try await session.finish()
                bar.finish(result)
            }
        }
    }
}

/// Rewrap progress: a bar on a terminal (count, rate, time left) or JSON lines for scripts.
final class ProgressBar: Sendable {
    private let json: Bool
    private let started = ContinuousClock.now
    private let terminal = isatty(STDERR_FILENO) == 1

    init(json: Bool) { self.json = json }

    func show(_ p: RewrapProgress) {
        let seconds = max(
            0.001,
            Double((ContinuousClock.now - started).components.attoseconds) / 1e18
                + Double((ContinuousClock.now - started).components.seconds)
        )
        let rate = Double(p.done) / seconds
        let left = rate > 0 ? Double(p.total - p.done) / rate : 0
        if json {
            print(
                #"{"done":\#(p.done),"total":\#(p.total),"kek":\#(p.activeVersion),"per_second":\#(Int(rate)),"seconds_left":\#(Int(left.rounded()))}"#
            )
        } else if terminal {
            let width = 30
            let filled = p.total == 0 ? width : width * p.done / p.total
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            FileHandle.standardError.write(
                "\r[\(bar)] \(p.done)/\(p.total) data keys, \(Int(rate))/s, \(Int(left.rounded()))s left "
            )
        }
    }

    func finish(_ p: RewrapProgress) {
        if terminal && !json { FileHandle.standardError.write("\n") }
        if !json { print("rewrapped \(p.done) data key(s) to KEK v\(p.activeVersion)") }
    }
}
