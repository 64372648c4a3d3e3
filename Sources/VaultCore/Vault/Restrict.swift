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
        return try await recordChoice(
            .subjectRestrict,
            about: subject,
            by: caller,
            at: now,
            decision: policy.restrictDecision(identity: caller.identity),
            refusal: PermissionRefusal(what: "restrict subjects", permission: "restrict"),
            describe: { $0.detail = "reason \(reason)" },
            write: { writer, event in
                let known = try writer.subject(named: subject.name)
                if let held = known?.restriction {
                    event.detail = "reason \(reason), already restricted since \(VaultClock.iso8601(held.since))"
                    return held
                }
                let restriction = Restriction(since: now, reason: reason.name)
                try writer.setRestriction(
                    subjectID: try known?.id ?? writer.insertSubjectWithoutKey(name: subject.name),
                    restriction
                )
                return restriction
            }
        )
    }

    /// Lifts `subject`'s restriction. Returns whether one was in force (false for a subject not restricted or
    /// not known: nothing changes, and the request is audited all the same).
    public func unrestrict(subject: Subject, caller: Caller) async throws(VaultError) -> Bool {
        try await recordChoice(
            .subjectUnrestrict,
            about: subject,
            by: caller,
            at: clock.now(),
            decision: policy.restrictDecision(identity: caller.identity),
            refusal: PermissionRefusal(what: "unrestrict subjects", permission: "restrict"),
            write: { writer, event in
                guard let known = try writer.subject(named: subject.name), let held = known.restriction else {
                    event.detail = "not restricted"
                    return false
                }
                try writer.setRestriction(subjectID: known.id, nil)
                event.detail = "restricted since \(VaultClock.iso8601(held.since))"
                return true
            }
        )
    }
}
