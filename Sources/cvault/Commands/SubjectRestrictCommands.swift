import ArgumentParser
import VaultClient
import VaultCore

struct SubjectRestrictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restrict",
        abstract: "Restrict a customer's processing (GDPR Art. 18): no reveal except for exempt purposes.",
        discussion: """
            While restricted, every reveal of the customer's values is refused (`restricted`) except for the \
            purposes the policy lists under restriction_exempt. Needs a role with `restrict: true`; audited. \
            A customer already restricted keeps its first restriction. Prints `restricted since TIME reason R`.
            """
    )

    @OptionGroup var side: VaultSideOptions
    @Option(help: "The customer (your customer id).") var subject: String
    @Option(help: ArgumentHelp("Why, as a short label, e.g. accuracy-contested.", valueName: "label"))
    var reason: String
    @Flag(help: "Print the answer as JSON.") var json = false

    func run() async throws {
        try await reporting {
            let subject = try Subject(self.subject)
            let reason = try RestrictionReason(self.reason)
            let held = try await side.operations.restrict(subject: subject, reason: reason)
            if json {
                print(
                    JSONValue.object([
                        "restricted": .bool(true), "since": .string(held.since), "reason": .string(held.reason),
                    ])
                )
            } else {
                print("restricted since \(held.since) reason \(held.reason)")
            }
        }
    }
}

struct SubjectUnrestrictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unrestrict",
        abstract: "Lift a customer's restriction. Prints `unrestricted`, or `not restricted` if none was in force."
    )

    @OptionGroup var side: VaultSideOptions
    @Option(help: "The customer (your customer id).") var subject: String
    @Flag(help: "Print the answer as JSON.") var json = false

    func run() async throws {
        try await reporting {
            let was = try await side.operations.unrestrict(subject: try Subject(subject))
            if json {
                print(JSONValue.object(["restricted": .bool(false), "was_restricted": .bool(was)]))
            } else {
                print(was ? "unrestricted" : "not restricted")
            }
        }
    }
}
