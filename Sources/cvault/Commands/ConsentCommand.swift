import ArgumentParser
import Foundation
import VaultClient
import VaultCore

/// `cvault consent grant|withdraw|list`: the customer's consent per purpose (docs/PRIVACY.md), as the
/// `consent.*` methods of docs/PROTOCOL.md, online with `--socket` or on the vault's files.
struct ConsentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent",
        abstract: "Record and show a customer's consent per purpose.",
        discussion: """
            A reveal for a purpose the policy lists under consent_required succeeds only for a customer who \
            holds a current grant for it. Recording needs a role with `consent: true`; listing needs \
            `consent: true` or `report: true`. Every grant and withdrawal is audited.
            """,
        subcommands: [ConsentGrantCommand.self, ConsentWithdrawCommand.self, ConsentListCommand.self]
    )
}

struct ConsentGrantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant",
        abstract: "Record a customer's consent to purposes. Prints each purpose granted."
    )

    @OptionGroup var side: VaultSideOptions
    @Option(help: "The customer (your customer id).") var subject: String
    @Option(help: ArgumentHelp("The purposes consented to (comma-separated).", valueName: "list")) var purposes: String
    @Option(help: ArgumentHelp("Where the customer chose, e.g. signup-form-v3.", valueName: "label")) var source: String
    @Option(help: ArgumentHelp("The grant ends at this ISO 8601 time.", valueName: "time")) var expiresAt: String?
    @Flag(help: "Print the answer as JSON.") var json = false

    func run() async throws {
        try await reporting {
            let grant = ConsentGrantRequest(
                subject: try Subject(subject),
                purposes: try parsePurposes(purposes),
                source: try ConsentSource(source),
                expiresAt: try expiresAt.map { (text) throws(VaultError) in try parseTime(text, flag: "--expires-at") }
            )
            let granted = try await side.operations.grantConsent(grant)
            for purpose in granted.notRequired {
                FileHandle.standardError.write(
                    "cvault: warning: purpose \(purpose) is not required by the current policy "
                        + "(recorded all the same; check its spelling against consent_required)\n"
                )
            }
            if json {
                var members: [String: JSONValue] = ["granted": .array(granted.granted.map(JSONValue.string))]
                if !granted.notRequired.isEmpty {
                    members["not_required"] = .array(granted.notRequired.map(JSONValue.string))
                }
                print(JSONValue.object(members))
            } else {
                for purpose in granted.granted { print("granted \(purpose)") }
            }
        }
    }
}

struct ConsentWithdrawCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdraw",
        abstract: "Record a customer's withdrawal of consent. Prints each purpose withdrawn.",
        discussion: """
            --all withdraws every purpose at once (the deregister button): each the customer ever decided on \
            and each the policy requires consent for. Once this has printed, no reveal for those purposes \
            succeeds, not even one already in flight.
            """
    )

    @OptionGroup var side: VaultSideOptions
    @Option(help: "The customer (your customer id).") var subject: String
    @Option(help: ArgumentHelp("The purposes withdrawn (comma-separated).", valueName: "list")) var purposes: String?
    @Flag(help: "Withdraw every purpose.") var all = false
    @Option(help: ArgumentHelp("Where the customer chose, e.g. email-footer.", valueName: "label")) var source: String
    @Flag(help: "Print the answer as JSON.") var json = false

    func validate() throws {
        guard (purposes != nil) != all else {
            throw ValidationError("give either --purposes or --all")
        }
    }

    func run() async throws {
        try await reporting {
            let subject = try Subject(self.subject)
            let purposes: ConsentPurposes =
                try self.purposes.map { (list) throws(VaultError) in
                    .listed(try parsePurposes(list))
                } ?? .all
            let source = try ConsentSource(self.source)
            let withdrawn = try await side.operations.withdrawConsent(
                subject: subject,
                purposes: purposes,
                source: source
            )
            if json {
                print(JSONValue.object(["withdrawn": .array(withdrawn.map(JSONValue.string))]))
            } else {
                for purpose in withdrawn { print("withdrawn \(purpose)") }
            }
        }
    }
}

struct ConsentListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show a customer's consent: the state per purpose, then every decision.",
        discussion: """
            One line per purpose (granted, withdrawn or expired, since when, where), then `history:` and one \
            line per decision, oldest first. --json prints the answer of consent.list.
            """
    )

    @OptionGroup var side: VaultSideOptions
    @Option(help: "The customer (your customer id).") var subject: String
    @Flag(help: "Print the answer as JSON.") var json = false

    func run() async throws {
        try await reporting {
            let state = try await side.operations.consentList(subject: try Subject(subject))
            if json {
                print(Self.json(state))
                return
            }
            for entry in state.current {
                var line = "\(entry.purpose) \(entry.state) since \(entry.since) source \(entry.source)"
                if let expiresAt = entry.expiresAt { line += " expires \(expiresAt)" }
                if !entry.required { line += " (not required by the current policy)" }
                print(line)
            }
            print("history:")
            for decision in state.history {
                var line = "\(decision.at) \(decision.state) \(decision.purpose) source \(decision.source)"
                if let expiresAt = decision.expiresAt { line += " expires \(expiresAt)" }
                print(line)
            }
        }
    }

    /// The answer as consent.list sends it (docs/PROTOCOL.md §6.9).
    static func json(_ state: VaultClient.ConsentState) -> JSONValue {
        let current = state.current.map { entry in
            var members: [String: JSONValue] = [
                "purpose": .string(entry.purpose), "state": .string(entry.state), "since": .string(entry.since),
                "source": .string(entry.source), "required": .bool(entry.required),
            ]
            members["expires_at"] = entry.expiresAt.map(JSONValue.string)
            return JSONValue.object(members)
        }
        let history = state.history.map { decision in
            var members: [String: JSONValue] = [
                "purpose": .string(decision.purpose), "state": .string(decision.state), "at": .string(decision.at),
                "source": .string(decision.source),
            ]
            members["expires_at"] = decision.expiresAt.map(JSONValue.string)
            return JSONValue.object(members)
        }
        return .object(["current": .array(current), "history": .array(history)])
    }
}
