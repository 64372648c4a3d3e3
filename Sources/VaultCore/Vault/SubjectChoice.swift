/// What consent decisions and restrictions share (`Vault/Consent.swift`, `Vault/Restrict.swift`): the
/// policy's decision, a refusal audited as denied (like an erase), and one write transaction holding the
/// choice and its audit record, so a choice that has answered is in force for every reveal recorded after it.
extension Vault {
    /// What a caller without a role permission was refused: the words of the error, and the permission.
    struct PermissionRefusal {
        /// "erase subjects", "record consent", "restrict subjects", …
        var what: String
        /// The role key that would allow it: `erase`, `consent`, `restrict`.
        var permission: String
    }

    /// Appends `event` as denied by policy, then throws `.denied` saying what `caller` may not do and which
    /// role permission would allow it: the one way such a refusal is audited and answered (erase, consent,
    /// restriction).
    func refuse(_ event: AuditEvent, _ refusal: PermissionRefusal, caller: Caller) async throws(VaultError) -> Never {
        var denied = event
        denied.outcome = .denied
        denied.reason = "denied by policy"
        try await appendAudit(denied)
        throw VaultError(
            .denied,
            "\(caller.identity.name) may not \(refusal.what)",
            hint: "set `\(refusal.permission): true` on one of its roles in the policy"
        )
    }

    /// Records a choice about `subject` made by `caller` at `now`. The audit record (`kind`, naming the
    /// subject, completed by `describe`) is appended as denied and `.denied` thrown unless `decision` allows;
    /// otherwise `work` runs in one write transaction, may complete the record with what it found, and the
    /// record is appended in that same transaction.
    func recordChoice<T: Sendable>(
        _ kind: AuditEvent.Event,
        about subject: Subject,
        by caller: Caller,
        at now: Int64,
        decision: PolicyDecision,
        refusal: PermissionRefusal,
        describe: (inout AuditEvent) -> Void = { _ in },
        write work: @escaping @Sendable (any StoreWriter, inout AuditEvent) throws -> T
    ) async throws(VaultError) -> T {
        var event = AuditEvent(kind, by: caller, at: now)
        event.concern(subject, keyring: keys.current)
        describe(&event)
        guard decision.isAllowed else { try await refuse(event, refusal, caller: caller) }
        let sealer = auditSealer
        let started = event
        return try await write { writer in
            var done = started
            let result = try work(writer, &done)
            try AuditChain.append(done, to: writer, sealer: sealer, now: now)
            return result
        }
    }
}
