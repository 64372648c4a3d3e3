import VaultJSON

/// The report as a statement's body (docs/OPERATIONS.md, "The customer's access report", shows one): times
/// in RFC 3339 UTC, names as the audit log spells them, members in name order (the statement writes them so).
extension AccessReport {
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "subject": .string(subject.name),
            "status": .string(status.rawValue),
            "tokens": .array(tokens.map(\.json)),
            "consent": .array(consents.map { $0.json(timeMember: "since") }),
            "consent_history": .array(consentHistory.map { $0.json(timeMember: "at") }),
            "restriction": Self.json(restriction),
            "disclosures": .array(disclosures.map(\.json)),
            "events": .array(events.map(\.json)),
        ]
        if let erasure { members["erased"] = erasure.json }
        return .object(members)
    }

    /// The body a statement signs.
    var body: Statement.Body {
        get throws(VaultError) { try Statement.Body(json) }
    }

    private static func json(_ restriction: Restriction?) -> JSONValue {
        guard let restriction else { return .object(["restricted": .bool(false)]) }
        return .object([
            "restricted": .bool(true),
            "since": .string(RFC3339.format(restriction.since)),
            "reason": .string(restriction.reason),
        ])
    }
}

extension AccessReport.HeldToken {
    var json: JSONValue {
        var limitMembers: [String: JSONValue] = [:]
        if let purposes = limits.purposes { limitMembers["purposes"] = .array(purposes.map { .string($0.name) }) }
        if let expiresAt = limits.expiresAt { limitMembers["expires_at"] = .string(RFC3339.format(expiresAt)) }
        if let maxReveals = limits.maxReveals { limitMembers["max_reveals"] = .int(Int64(maxReveals)) }
        var members: [String: JSONValue] = [
            "reference": .string(reference),
            "kind": .string(kind.rawValue),
            "token_type": .string(tokenType.rawValue),
            "created_at": .string(RFC3339.format(createdAt)),
            "limits": .object(limitMembers),
        ]
        if let reveals { members["reveals"] = .int(Int64(reveals)) }
        return .object(members)
    }
}

extension AccessReport.Consent {
    /// `timeMember`: `since` for the current state, `at` for a decision in the history.
    func json(timeMember: String) -> JSONValue {
        var members: [String: JSONValue] = [
            "purpose": .string(purpose.name),
            "state": .string(state),
            timeMember: .string(RFC3339.format(at)),
            "source": .string(source),
        ]
        if let expiresAt { members["expires_at"] = .string(RFC3339.format(expiresAt)) }
        return .object(members)
    }
}

extension AccessReport.Disclosure {
    var json: JSONValue {
        var members: [String: JSONValue] = [
            "seq": .int(seq),
            "at": .string(at),
            "event": .string(event.rawValue),
            "roles": .array(roles.map(JSONValue.string)),
            "token": .string(token),
            "decision": .string(decision.rawValue),
        ]
        members["identity"] = identity.map(JSONValue.string)
        members["uid"] = uid.map { .int(Int64($0)) }
        members["purpose"] = purpose.map(JSONValue.string)
        members["kind"] = kind.map(JSONValue.string)
        members["reason"] = reason.map(JSONValue.string)
        return .object(members)
    }
}

extension AccessReport.Event {
    /// The record's public members (who, when, what, how it ended, counts and names of kinds and purposes),
    /// with its seq and hash; not its items or the other subjects it may name.
    var json: JSONValue {
        var members: [String: JSONValue] = [
            "seq": .int(seq),
            "hash": .string(hash),
            "at": .string(record.at),
            "event": .string(record.event.rawValue),
            "outcome": .string(record.outcome.rawValue),
        ]
        members["identity"] = record.identity.map(JSONValue.string)
        members["uid"] = record.uid.map { .int(Int64($0)) }
        members["roles"] = record.roles.map { .array($0.map(JSONValue.string)) }
        members["reason"] = record.reason.map(JSONValue.string)
        members["kind"] = record.kind.map(JSONValue.string)
        members["token_type"] = record.mode.map(JSONValue.string)
        members["count"] = record.count.map { .int(Int64($0)) }
        members["purpose"] = record.purpose.map(JSONValue.string)
        members["purposes"] = record.purposes.map { .array($0.map(JSONValue.string)) }
        members["detail"] = record.detail.map(JSONValue.string)
        return .object(members)
    }
}
