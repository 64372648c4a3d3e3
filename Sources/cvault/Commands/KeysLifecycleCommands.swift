import ArgumentParser
import Foundation
import VaultCore
import VaultJSON

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
                let rotated = try await AdminSession.perform(location, unseal) { try await $0.rotateKEK(uid: getuid()) }
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
                let rotated = try await AdminSession.perform(location, unseal) {
                    try await $0.rotateTokenKey(uid: getuid())
                }
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
                // A refusal is recorded: it is sealed too before the error says why.
                try await AdminSession.perform(location, unseal, sealingFailures: true) {
                    try await $0.retireKEK(version: version, uid: getuid())
                }
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
                // The keyring opens first: a wrong current passphrase fails before the new one is asked for.
                try await AdminSession.perform(location, unseal) {
                    try await $0.changePassphrase(to: newPassphrase(), uid: getuid())
                }
                print("keyring re-sealed under the new passphrase: the old passphrase (or shares) no longer opens it")
            }
        }

        /// The new passphrase: the file, else CVAULT_NEW_PASSPHRASE, else a prompt (twice) on a terminal.
        private func newPassphrase() throws -> SecureBytes {
            if newPassphraseFile == nil, let secret = Secret.takeFromEnvironment("CVAULT_NEW_PASSPHRASE") {
                return secret
            }
            guard newPassphraseFile != nil || isatty(STDIN_FILENO) == 1 else {
                throw VaultError(
                    .invalidRequest,
                    "no new passphrase given",
                    hint: "pass --new-passphrase-file FILE or set CVAULT_NEW_PASSPHRASE"
                )
            }
            return try Passphrase.read(file: newPassphraseFile, confirm: true, ignoreEnvironment: true)
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
                let bar = ProgressBar(json: json)
                let result = try await AdminSession.perform(location, unseal) {
                    try await $0.rewrap(batch: batch, caller: nil, uid: getuid()) { bar.show($0) }
                }
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
        let seconds = max(0.001, (ContinuousClock.now - started) / .seconds(1))
        let rate = Double(p.done) / seconds
        let left = rate > 0 ? Double(p.total - p.done) / rate : 0
        if json {
            var line = JSONWriter(options: .foundation)
            line.beginObject()
            line.member("done", p.done)
            line.member("total", p.total)
            line.member("kek", p.activeVersion)
            line.member("per_second", Int(rate))
            line.member("seconds_left", Int(left.rounded()))
            line.endObject()
            print(line.text)
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
