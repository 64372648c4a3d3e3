extension Vault {
    /// Crypto-shredding: destroys the subject's wrapped data key, every token row and every stored idempotent
    /// answer in one transaction, so none of its tokens can be detokenized again, then scrubs the store
    /// (`VaultStore.writeAndScrub`): when this returns, no byte of what was deleted remains in any file the
    /// store keeps. Returns the number of tokens destroyed (0 if unknown). If the erase committed but the scrub
    /// could not finish, throws `.storage` saying so: the subject is erased either way, and the store scrubs
    /// again at its next chance.
    public func erase(subject: Subject, caller: Caller) async throws(VaultError) -> Int {
        let decision = policy.eraseDecision(identity: caller.identity)
        let now = clock.now()
        var event = AuditEvent(.erase, by: caller, at: now)
        event.concern(subject, keyring: keys.current)
        guard decision.isAllowed else {
            try await refuse(event, PermissionRefusal(what: "erase subjects", permission: "erase"), caller: caller)
        }
        let signer = auditSealer
        let allowed = event
        let (erased, scrubbed) = try await writeAndScrub { writer in
            let erased = try writer.eraseSubject(named: subject.name)
            var done = allowed
            done.count = erased
            try AuditChain.append(done, to: writer, sealer: signer, now: now)
            return erased
        }
        guard scrubbed else { throw Self.notScrubbed(subject: subject, tokens: erased) }
        return erased
    }

    static func notScrubbed(subject: Subject, tokens: Int) -> VaultError {
        .notScrubbed(
            "subject \(subject) is erased (its data key and \(tokens) tokens are gone, and the erase is "
                + "audited), but old copies of the deleted rows are not yet scrubbed from the database files: "
                + "another connection kept reading an older state",
            hint: "nothing is lost or undone; the vault scrubs them at its next chance (within seconds of the "
                + "next write once that reader ends); stop long readers (backups, sqlite3 shells) and retry "
                + "the erase to confirm (it then answers 0)"
        )
    }
}
