import VaultCore
import VaultJSON

/// The customer's choices over the socket (docs/PROTOCOL.md §6.7 to §6.11): consent per purpose and
/// restriction. Params are parsed into the domain's types here, once; the vault decides, records and audits.
extension RPCDispatcher {
    func rights(_ method: String, _ params: Params, caller: Caller) async throws -> [(String, JSONValue)] {
        switch method {
        case "consent.grant":
            let subject = try params.subject()
            let purposes = try params.purposes()
            let source = try params.consentSource()
            let expiresAt = try params.consentExpiry()
            let granted = try await vault.grantConsent(
                subject: subject,
                purposes: purposes,
                source: source,
                expiresAt: expiresAt,
                caller: caller
            )
            return RightsAnswer.granted(granted)
        case "consent.withdraw":
            let subject = try params.subject()
            let purposes = try params.withdrawnPurposes()
            let source = try params.consentSource()
            let withdrawn = try await vault.withdrawConsent(
                subject: subject,
                purposes: purposes,
                source: source,
                caller: caller
            )
            return RightsAnswer.withdrawn(withdrawn)
        case "consent.list":
            return RightsAnswer.consent(try await vault.consentState(subject: try params.subject(), caller: caller))
        case "subject.restrict":
            let subject = try params.subject()
            let reason = try params.restrictionReason()
            return RightsAnswer.restricted(try await vault.restrict(subject: subject, reason: reason, caller: caller))
        case "subject.unrestrict":
            let lifted = try await vault.unrestrict(subject: try params.subject(), caller: caller)
            return RightsAnswer.unrestricted(wasRestricted: lifted)
        default:
            throw RPCError.methodNotFound
        }
    }
}

/// The answers of the consent and restriction methods, member by member in the order they are sent. The CLI's
/// `--json` prints the same members, from the client's models of them (`VaultClient.ConsentState`, …).
enum RightsAnswer {
    static func granted(_ granted: ConsentGranted) -> [(String, JSONValue)] {
        var members: [(String, JSONValue)] = [("granted", names(granted.granted))]
        if !granted.notRequired.isEmpty { members.append(("not_required", names(granted.notRequired))) }
        return members
    }

    static func withdrawn(_ purposes: [Purpose]) -> [(String, JSONValue)] {
        [("withdrawn", names(purposes))]
    }

    static func consent(_ state: ConsentState) -> [(String, JSONValue)] {
        let current = state.current.map { entry in
            var members: [String: JSONValue] = [
                "purpose": .string(entry.purpose.name), "state": .string(entry.state.rawValue),
                "since": time(entry.since), "source": .string(entry.source), "required": .bool(entry.required),
            ]
            if let expiresAt = entry.expiresAt { members["expires_at"] = time(expiresAt) }
            return JSONValue.object(members)
        }
        let history = state.history.map { record in
            var members: [String: JSONValue] = [
                "purpose": .string(record.purpose.name), "state": .string(record.state.rawValue),
                "at": time(record.at), "source": .string(record.source),
            ]
            if let expiresAt = record.expiresAt { members["expires_at"] = time(expiresAt) }
            return JSONValue.object(members)
        }
        return [("current", .array(current)), ("history", .array(history))]
    }

    static func restricted(_ restriction: Restriction) -> [(String, JSONValue)] {
        [("restricted", .bool(true)), ("since", time(restriction.since)), ("reason", .string(restriction.reason))]
    }

    static func unrestricted(wasRestricted: Bool) -> [(String, JSONValue)] {
        [("restricted", .bool(false)), ("was_restricted", .bool(wasRestricted))]
    }

    private static func names(_ purposes: [Purpose]) -> JSONValue { .array(purposes.map { .string($0.name) }) }

    private static func time(_ seconds: Int64) -> JSONValue { .string(VaultClock.iso8601(seconds)) }
}
