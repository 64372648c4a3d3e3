/// Restriction of processing (GDPR Art. 18): while a subject is restricted, no reveal of its values succeeds
/// except for the policy's `restriction_exempt` purposes (`DetokenizeCall`). The restriction sits on the
/// subject's row, which every reveal's look-up joins, so honouring it costs the reveal nothing.
extension Vault {
    /// Restricts `subject`'s processing for `reason` and returns the restriction in force. A subject already
    /// restricted keeps its restriction (its first `since` and reason; the request is audited all the same);
    /// one the vault does not know yet is created without a data key, so values tokenized for it later are
    /// restricted from the start.
    public func restrict(
        subject: Subject,
        reason: RestrictionReason,
        caller: Caller
    ) async throws(VaultError) -> Restriction {
        let now = clock.now()
        var event = AuditEvent(.subjectRestrict, by: caller, at: now)
        event.concern(subject, keyring: keys.current)
        event.detail = "reason \(reason)"
        try await requireAllowed(
            policy.restrictDecision(identity: caller.identity),
            event,
            what: "restrict subjects",
            permission: "restrict"
        )
        let sealer = auditSealer
        let started = event
        return try await write { writer in
            var done = started
            let known = try writer.subject(named: subject.name)
            let restriction: Restriction
            if let held = known?.restriction {
                restriction = held
                done.detail = (done.detail ?? "") + ", already restricted since \(VaultClock.iso8601(held.since))"
            } else {
                restriction = Restriction(since: now, reason: reason.name)
                let subjectID = try known?.id ?? writer.insertSubjectWithoutKey(name: subject.name)
                try writer.setRestriction(subjectID: subjectID, restriction)
            }
            try AuditChain.append(done, to: writer, sealer: sealer, now: now)
            return restriction
        }
    }

    /// Lifts `subject`'s restriction. Returns whether one was in force (false for a subject not restricted or
    /// not known: nothing changes, and the request is audited all the same).
    public func unrestrict(subject: Subject, caller: Caller) async throws(VaultError) -> Bool {
        let now = clock.now()
        var event = AuditEvent(.subjectUnrestrict, by: caller, at: now)
        event.concern(subject, keyring: keys.current)
        try await requireAllowed(
            policy.restrictDecision(identity: caller.identity),
            event,
            what: "unrestrict subjects",
            permission: "restrict"
        )
        let sealer = auditSealer
        let started = event
        return try await write { writer in
            var done = started
            let known = try writer.subject(named: subject.name)
            if let known, let held = known.restriction {
                try writer.setRestriction(subjectID: known.id, nil)
                done.detail = "restricted since \(VaultClock.iso8601(held.since))"
            } else {
                done.detail = "not restricted"
            }
            try AuditChain.append(done, to: writer, sealer: sealer, now: now)
            return known?.restriction != nil
        }
    }
}
