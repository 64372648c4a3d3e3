import VaultJSON

/// One audit record as exported for a reviewer: its event fields, plus `hash` and `prev` (hex) so the chain
/// can be followed by eye.
public struct AuditExport: Sendable {
    public let event: AuditEvent
    public let line: String

    /// The record's members as stored (one a later version added included), with `hash` and `prev`, sorted
    /// by name and written as the log writes them (`JSONWriter.Options.foundation`). Nil for a body that is
    /// not a record.
    public static func record(_ row: AuditRow) -> AuditExport? {
        guard let event = AuditEvent.decode(row.body),
            case .object(var members)? = JSONParser.parse(Array(row.body.utf8))
        else { return nil }
        members["hash"] = .string(Hex.encode(row.hash))
        members["prev"] = .string(Hex.encode(row.prev))
        var json = JSONWriter(options: .foundation, capacity: row.body.utf8.count + 160)
        json.value(.object(members))
        return AuditExport(event: event, line: json.text)
    }

    /// `tokens`: only records naming one of these (its keyed reference, or, in records written before tokens
    /// were recorded by reference, the token itself).
    public func matches(
        since: Int64?,
        identity: String?,
        purpose: String?,
        event name: String?,
        tokens: Set<String>? = nil
    ) -> Bool {
        if let tokens, !(event.items ?? []).contains(where: { tokens.contains($0.token) }) { return false }
        if let since, let at = VaultClock.parseISO8601(event.at), at < since { return false }
        if let identity, event.identity != identity { return false }
        if let purpose, event.purpose != purpose { return false }
        if let name, event.event.rawValue != name { return false }
        return true
    }
}

extension Keyring {
    /// How this vault's audit log names `token` (for `cvault audit export --token`): needs the keyring, since
    /// the reference is keyed.
    public func auditReference(of token: String) -> String {
        Binding.auditReference(token: token, key: auditReferenceKey)
    }
}
