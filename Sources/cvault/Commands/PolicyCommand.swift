import ArgumentParser
import Foundation
import VaultCore

#if canImport(Glibc)
import Glibc
#endif

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check, explain and reload the access policy, and print its record of processing (docs/POLICY.md).",
        subcommands: [Check.self, Explain.self, Register.self, Reload.self]
    )
}

extension PolicyCommand {
    /// Prints every problem of the policy file's `bytes` on standard error, one per line with its place, and
    /// fails if there is any: `check` and `reload` refuse a policy the same way.
    static func requireNoProblems(
        _ bytes: [UInt8],
        file: String,
        consequence: String,
        hint: String
    ) throws(VaultError) {
        let problems = Policy.check(yaml: String(decoding: bytes, as: UTF8.self), file: file)
        guard problems.isEmpty else {
            for problem in problems { FileHandle.standardError.write("\(problem)\n") }
            throw VaultError(.policy, "\(file) has \(problems.count) problem(s)\(consequence)", hint: hint)
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a policy file; print every problem with its line and exit 1 if there is any."
        )

        @Argument(help: "The policy file.") var file: String

        func run() async throws {
            try await reporting {
                try PolicyCommand.requireNoProblems(
                    FileSafety.readAll(file, what: "policy file"),
                    file: file,
                    consequence: "",
                    hint: "fix them; a server never starts on a policy that fails this check"
                )
                let policy = try Policy.load(path: file)
                print("\(file): ok (\(policy.identities.count) identities, \(policy.roles.count) roles)")
            }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the decision for an identity, kind and purpose, and the rule that made it."
        )

        @OptionGroup var policy: PolicyOption
        @Option(help: "Identity name from the policy.") var identity: String
        @Option(help: "Kind of value.") var kind: String
        @Option(help: "Declared purpose.") var purpose: String

        func run() async throws {
            try await reporting {
                let holder = try VaultSession.loadPolicy(policy)
                let kind = try parseKind(kind)
                print(holder.current.explain(identityName: identity, kind: kind, purpose: try Purpose(purpose)))
            }
        }
    }
}

extension PolicyCommand {
    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the record of processing (GDPR Art. 30) generated from the policy.",
            discussion:
                "Per kind: who may tokenize and reveal it, for which purposes and how, which purposes need consent or are exempt from restriction, the retention and what the token reveals; then who may erase, record consent, restrict and report."
        )

        @Flag(help: "Print JSON instead of text.") var json = false
        @OptionGroup var policy: PolicyOption

        func run() async throws {
            try await reporting { print(try register(json: json)) }
        }

        /// The register of the policy in force for the CLI (`--policy` or `CVAULT_POLICY`), built by the domain.
        private func register(json: Bool) throws -> String {
            let register = ProcessingRegister(policy: try VaultSession.loadPolicy(policy).current)
            return json ? register.json : register.text
        }
    }
}

extension PolicyCommand {
    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check the policy file, then tell the running server (its pid file in the data folder) to reload it.",
            discussion: "A policy that fails the check is not sent: the problems are printed and the exit status is 1."
        )

        @OptionGroup var location: VaultLocation
        @OptionGroup var policy: PolicyOption

        func run() async throws {
            try await reporting {
                guard let path = policy.path else {
                    throw VaultError(
                        .policy,
                        "no policy file given",
                        hint: "pass --policy FILE (the server's) or set CVAULT_POLICY"
                    )
                }
                let bytes = try FileSafety.readAll(path, what: "policy file")
                try PolicyCommand.requireNoProblems(
                    bytes,
                    file: path,
                    consequence: "; the server keeps its current policy",
                    hint: "fix them and reload again"
                )
                let pidFile = location.dataFolder + "/cvault.pid"
                let text = String(decoding: try FileSafety.readAll(pidFile, what: "server pid file"), as: UTF8.self)
                guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, SIGHUP) == 0
                else {
                    throw VaultError(
                        .invalidRequest,
                        "no running server found through \(pidFile)",
                        hint: "start one with `cvault serve`"
                    )
                }
                // The server records the hash of the bytes it loads; this is the hash of the bytes checked here.
                print(
                    "sent SIGHUP to cvault serve (pid \(pid)); it now reloads \(path) (sha256 \(Hex.encode(SHA256.hash(bytes))))"
                )
            }
        }
    }
}
