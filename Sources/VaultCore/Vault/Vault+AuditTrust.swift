/// What an operator does about an audit log that no longer extends its anchor: look (`checkAudit`), then
/// either restore a backup or accept the log as it is. Both record the decision in the log itself, naming the
/// head that was lost, and move the anchor to a new epoch (docs/OPERATIONS.md, "When the audit log breaks").
extension Vault {
    /// Loads the anchor if needed, picks up one another process moved, and checks the database's chain
    /// extends it. Returns why it does not, or nil.
    public func checkAudit() async throws(VaultError) -> String? {
        let sealer = auditSealer
        _ = try await write { writer in
            let head = try writer.auditHead()
            try sealer.refresh(writer: writer, head: head)
            try sealer.admit(head, writer: writer)
        }
        return sealer.problem
    }

    /// The head the anchor (or a later seal of this process) holds: what a rebase reports as lost.
    public var anchoredAuditHead: AuditSealer.Head { auditSealer.anchoredHead }

    /// The database's audit head as it is now.
    public func databaseAuditHead() async throws(VaultError) -> AuditSealer.Head {
        AuditSealer.Head(try await write { try $0.auditHead() })
    }

    /// `cvault audit accept`: records that the operator accepts the log as the database holds it (after
    /// investigating a break), seals it, and re-anchors. Refused when the log is not broken.
    public func acceptAuditLog(
        reason: String,
        uid: UInt32
    ) async throws(VaultError) -> (lost: AuditSealer.Head, accepted: AuditSealer.Head) {
        guard let problem = try await checkAudit() else {
            throw VaultError(
                .invalidRequest,
                "the audit log extends its anchor (\(anchoredAuditHead)): there is nothing to accept",
                hint: "`cvault audit accept` is only for a log `cvault audit verify` reports as broken"
            )
        }
        let lost = anchoredAuditHead
        let accepted = try await databaseAuditHead()
        try await rebaseAudit(
            event: .auditAccept,
            outcome: .ok,
            reason: reason,
            uid: uid,
            detail: "lost anchored head \(lost); accepted the database's head \(accepted) (\(problem))"
        )
        return (lost, accepted)
    }

    /// `cvault restore`: records the restore. When the restored chain does not reach the anchor (an older
    /// backup), the vault was rolled back: the record names the lost head and the backup's, and the anchor
    /// moves to a new epoch; `rollback` must then be true (the operator's explicit consent), else `.audit`.
    /// Returns the lost head for a rollback, nil for a restore that loses nothing.
    public func recordRestore(
        from source: String,
        allowRollback: Bool,
        uid: UInt32
    ) async throws(VaultError) -> AuditSealer.Head? {
        let problem = try await checkAudit()
        let backupHead = try await databaseAuditHead()
        guard problem != nil else {
            try await audit(
                .restore,
                caller: nil,
                uid: uid,
                detail: "from \(source); backup head \(backupHead); nothing lost"
            )
            try await sealAudit()
            return nil
        }
        let lost = anchoredAuditHead
        guard allowRollback else {
            throw VaultError.about(
                .allowRollback,
                .audit,
                "the backup's audit log (head \(backupHead)) does not reach this vault's anchor (\(lost)): "
                    + "restoring it rolls the vault back (\(problem!))",
                hint: "allow the rollback to restore it anyway; " + VaultError.rollbackWarning
            )
        }
        try await rebaseAudit(
            event: .restore,
            outcome: .rollback,
            reason: "restored an older backup",
            uid: uid,
            detail: "from \(source); lost head \(lost); backup head \(backupHead)"
        )
        return lost
    }

    private func rebaseAudit(
        event: AuditEvent.Event,
        outcome: AuditEvent.Outcome,
        reason: String,
        uid: UInt32,
        detail: String
    ) async throws(VaultError) {
        let sealer = auditSealer
        let now = clock.now()
        let record = AuditEvent(
            at: VaultClock.iso8601(now),
            event: event,
            uid: uid,
            outcome: outcome,
            reason: reason,
            detail: detail
        )
        _ = try await write { writer in try AuditChain.appendRebase(record, to: writer, sealer: sealer, now: now) }
        // The anchor of the new epoch must be on disk before this reports success.
        guard let anchor = try AuditAnchor.read(at: sealer.anchorPath), anchor.isSigned(by: sealer.signer.publicKey),
            anchor.seq == sealer.anchoredHead.seq, anchor.hash == sealer.anchoredHead.hash
        else {
            throw VaultError(
                .storage,
                "the audit record was written but the anchor \(sealer.anchorPath) could not be moved",
                hint: "check that the keys folder is writable, then run `cvault audit accept` again"
            )
        }
    }
}

extension VaultError {
    /// What a restore that rolls the vault back costs, said wherever it is offered.
    public static let rollbackWarning = "read docs/OPERATIONS.md first (reveal counts and erasures go back too)"
}
