import Foundation
import Testing
import VaultJSON

@testable import VaultCore

/// A body like a report's: a subject, a list of tokens by keyed reference, a list of strings, a flag, and a
/// note whose characters need escapes (a line break, a quote, a backslash, a line separator, a control
/// character) and one that does not (an accented letter), so an edit of an escape is something to test.
public func sampleStatementBody() throws -> Statement.Body {
    var token = Statement.Body()
    token.set("kind", "email")
    token.set("reference", "ref:00ab17")
    token.set("reveals", 3)
    var body = Statement.Body()
    body.set("subject", "cust-42")
    try body.set("tokens", [token])
    body.set("purposes", ["marketing", "support"])
    body.set("restricted", false)
    body.set("note", "line\nbreak \"quoted\" back\\slash caf\u{e9} \u{2028} escape\u{1b}")
    return body
}

/// Tokenizes one value in `t` and issues an access report over the audit record that wrote: the statement,
/// that record, and the value (which no statement or output may hold).
public func issueSampleStatement(_ t: TestVault) async throws -> (statement: Statement, head: AuditRow, value: String) {
    let value = "ada.statement@example.com"
    _ = try await t.tokenize(.email, [value], subject: "cust-42", as: try t.caller(UID.service))
    let head = try #require(try await t.auditRows().last)
    let statement = try t.vault.issueStatement(.accessReport, body: try sampleStatementBody(), covering: head)
    return (statement, head, value)
}

/// `file` parsed, its top-level members changed by `change`, and written again in canonical form: a document
/// whose bytes pass the canonical check, so only the signature (or a member's form) can refuse it.
public func rewrittenStatement(_ file: [UInt8], _ change: (inout [String: JSONValue]) -> Void) throws -> [UInt8] {
    guard case .object(var members)? = JSONParser.parse(file) else {
        throw VaultError(.internal, "the statement under test does not parse")
    }
    change(&members)
    var json = JSONWriter(options: [.foundation, .prettyPrinted])
    json.value(.object(members))
    return json.bytes + [0x0A]
}
