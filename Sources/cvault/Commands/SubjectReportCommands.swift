import ArgumentParser
import Foundation
import VaultCore
import VaultJSON

struct SubjectReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "A customer's access report (GDPR Art. 15), as a signed statement.",
        discussion: """
            Every token the customer holds (by reference, never the token or the value), the consent state and \
            history, the restriction, every disclosure and refusal, and every other audit record about them, up \
            to the report's own audit record, which the statement names and the audit key signs. Needs a role \
            with `report: true`; audited. Prints a summary for people; --json prints the statement file and \
            --out FILE writes it (`cvault statement verify FILE` checks it).
            """
    )

    @OptionGroup var side: VaultSideOptions
    @Option(help: "The customer (your customer id).") var subject: String
    @Flag(help: "Print the statement file (JSON) instead of the summary.") var json = false
    @Option(help: ArgumentHelp("Write the statement file here (mode 0600).", valueName: "file")) var out: String?

    func run() async throws {
        try await reporting {
            let subject = try Subject(self.subject)
            let statement = try await side.operations.report(subject: subject)
            if let out { try FileSafety.writeAtomically(statement.fileBytes, to: out) }
            if json {
                FileHandle.standardOutput.write(Data(statement.fileBytes))
            } else {
                print(AccessReportText(statement).lines.joined(separator: "\n"))
            }
        }
    }
}

struct SubjectExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Every value a customer holds, in plain, as JSON (GDPR Art. 20, portability).",
        discussion: """
            Through the gate, as a reveal for --purpose (by convention subject-access): a kind the caller's role \
            is not granted plain for it is not exported, and that token's item says why (`denied`), as do \
            restricted, no_consent and not_found. Audited as one subject_export record. The output holds the \
            customer's values: send it to the customer only.
            """
    )

    @OptionGroup var side: VaultSideOptions
    @Option(help: "The customer (your customer id).") var subject: String
    @Option(help: "The purpose the caller's role reveals for (subject-access).") var purpose: String

    func run() async throws {
        try await reporting {
            let subject = try Subject(self.subject)
            let purpose = try Purpose(self.purpose)
            let export = try await side.operations.export(subject: subject, purpose: purpose)
            var json = JSONWriter(options: [.foundation, .prettyPrinted])
            json.value(export)
            print(json.text)
        }
    }
}

/// An access report for people: one line per fact, read from the statement's body, every text from the vault
/// escaped for the terminal.
struct AccessReportText {
    let statement: Statement

    init(_ statement: Statement) { self.statement = statement }

    var lines: [String] {
        let body = statement.body.json
        let subject = body["subject"]?.stringValue ?? "?"
        var lines = [
            "access report for subject \(escapedForTerminal(subject)): \(text(body["status"]))",
            "issued \(RFC3339.format(statement.issuedAt)), covering audit \(statement.head), "
                + "signed by audit key \(Hex.encode(statement.publicKey))",
        ]
        if let erased = body["erased"] {
            lines.append(
                "erased \(text(erased["at"])) by \(text(erased["identity"])) (audit record \(text(erased["seq"])))"
            )
        }
        let restriction = body["restriction"]
        lines.append(
            restriction?["restricted"] == .bool(true)
                ? "restricted since \(text(restriction?["since"])) reason \(text(restriction?["reason"]))"
                : "not restricted"
        )
        lines += section("tokens", body) { token in
            "\(text(token["reference"])) \(text(token["kind"])) \(text(token["token_type"])) created \(text(token["created_at"]))"
                + (token["reveals"].map { " reveals \(text($0))" } ?? "")
        }
        lines += section("consent", body) { entry in
            "\(text(entry["purpose"])) \(text(entry["state"])) since \(text(entry["since"])) source \(text(entry["source"]))"
        }
        lines += section("consent_history", body) { entry in
            "\(text(entry["at"])) \(text(entry["purpose"])) \(text(entry["state"])) source \(text(entry["source"]))"
        }
        lines += section("disclosures", body) { item in
            "\(text(item["at"])) \(text(item["identity"])) \(text(item["roles"])) \(text(item["event"])) "
                + "purpose \(text(item["purpose"])) \(text(item["kind"])) \(text(item["token"])): \(text(item["decision"]))"
        }
        lines += section("events", body) { event in
            "\(text(event["at"])) \(text(event["event"])) by \(text(event["identity"])): \(text(event["outcome"]))"
                + (event["count"].map { " count \(text($0))" } ?? "")
        }
        return lines
    }

    /// `name:` with its count, then one indented line per entry.
    private func section(_ name: String, _ body: JSONValue, _ line: (JSONValue) -> String) -> [String] {
        guard case .array(let entries)? = body[name] else { return [] }
        return ["\(name.replacing("_", with: " ")): \(entries.count)"] + entries.map { "  " + line($0) }
    }

    private func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let s)?: escapedForTerminal(s)
        case .int(let i)?: String(i)
        case .array(let items)?: "[" + items.map { text($0) }.joined(separator: ",") + "]"
        case nil, .null?: "-"
        case let other?: escapedForTerminal(other.description)
        }
    }
}
