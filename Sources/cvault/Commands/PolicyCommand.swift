import ArgumentParser
import Foundation
import VaultCore

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check, explain and reload the access policy (docs/POLICY.md).",
        subcommands: [Check.self, Explain.self])
}

extension PolicyCommand {
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a policy file; print every problem with its line and exit 1 if there is any.")

        @Argument(help: "The policy file.") var file: String

        func run() async throws {
            try await reporting {
                let text = try String(decoding: FileSafety.readAll(file, what: "policy file"), as: UTF8.self)
                let problems = Policy.check(yaml: text)
                guard problems.isEmpty else {
                    for problem in problems { FileHandle.standardError.write("\(file):\(problem.line):\(problem.column): \(problem.message)\n") }
                    throw VaultError(.policy, "\(file) has \(problems.count) problem(s)", hint: "fix them; a server never starts on a policy that fails this check")
                }
                let policy = try Policy.parse(yaml: text)
                print("\(file): ok (\(policy.identities.count) identities, \(policy.roles.count) roles)")
            }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the decision for an identity, kind and purpose, and the rule that made it.")

        @OptionGroup var policy: PolicyOption
        @Option(help: "Identity name from the policy.") var identity: String
        @Option(help: "Kind of value.") var kind: String
        @Option(help: "Declared purpose.") var purpose: String

        func run() async throws {
            try await reporting {
                let holder = try VaultSession.loadPolicy(policy)
                _ = try parseKind(kind)
                print(holder.current.explain(identityName: identity, kind: try parseKind(kind), purpose: purpose))
            }
        }
    }
}
