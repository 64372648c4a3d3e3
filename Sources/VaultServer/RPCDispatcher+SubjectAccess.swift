import VaultCore
import VaultJSON

/// The customer's access methods (docs/PROTOCOL.md §6.12–6.13): the access report and the export.
extension RPCDispatcher {
    /// `subject.report {"subject"}` → `{"statement": FILE}`: the signed statement, byte for byte as a file
    /// holds it (pretty-printed, one line end at the end), as one string, so any client writes it out exactly
    /// and `cvault statement verify` accepts it.
    func subjectReport(_ params: Params, caller: Caller) async throws -> Body {
        let statement = try await vault.report(subject: try params.subject(), caller: caller)
        return .object([("statement", .string(String(decoding: statement.fileBytes, as: UTF8.self)))])
    }

    /// `subject.export {"subject", "purpose"}` → `{"subject", "purpose", "items": [...]}`, one item per token
    /// held: its report reference, kind, token type, creation time, and `value` or `error`.
    func subjectExport(_ params: Params, caller: Caller, count: inout Int) async throws -> Body {
        let export = try await vault.export(
            subject: try params.subject(),
            purpose: try params.purpose(),
            caller: caller
        )
        count = export.items.count
        return .object([
            ("subject", .string(export.subject.name)),
            ("purpose", .string(export.purpose.name)),
            ("items", .array(export.items.map(\.json))),
        ])
    }
}
