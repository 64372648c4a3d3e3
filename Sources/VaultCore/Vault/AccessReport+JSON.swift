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
        if let retainedUntil { members["retained_until"] = .string(RFC3339.format(retainedUntil)) }
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
    /// Members of a record a report leaves out: its items (tokens, some of other subjects) and the other
    /// subjects it may name.
    static let omitted: Set<String> = ["items", "subjects", "subject_refs"]

    /// Every other member of the record as stored (who, when, what, how it ended, counts, kinds, purposes,
    /// public details, and whatever public fact a later record type adds), `mode` as `token_type`, and the
    /// record's hash.
    var json: JSONValue {
        var out = members.filter { !Self.omitted.contains($0.key) }
        if let mode = out.removeValue(forKey: "mode") { out["token_type"] = mode }
        out["hash"] = .string(hash)
        return .object(out)
    }
}
