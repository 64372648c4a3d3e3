extension Vault {
    /// Crypto-shredding: destroys the subject's wrapped data key and every token row in one transaction, so
    /// none of its tokens can be detokenized again. Returns the number of tokens destroyed (0 if unknown).
    public func erase(subject: String, caller: Caller) async throws(VaultError) -> Int {
        try Self.validateSubject(subject)
        let decision = policy.eraseDecision(identity: caller.identity)
        let now = clock.now()
        var event = AuditEvent(at: VaultClock.iso8601(now), event: "erase", identity: caller.identity.name, uid: caller.uid,
                               roles: caller.identity.roles, subjects: [subject], outcome: "ok")
        guard decision.isAllowed else {
            event.outcome = "denied"
            event.reason = "denied by policy"
            try await appendAudit(event)
            throw VaultError(.denied, "\(caller.identity.name) may not erase subjects",
                             hint: "set `erase: true` on one of its roles in the policy")
        }
        let signer = auditSealer
        let allowed = event
        return try await write { writer in
            let erased = try writer.eraseSubject(named: subject)
            var done = allowed
            done.count = erased
            try AuditChain.append(done, to: writer, sealer: signer, now: now)
            return erased
        }
    }
}
