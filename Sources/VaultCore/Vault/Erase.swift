import VaultJSON

/// What an erase destroyed, and the signed receipt that proves it (GDPR Art. 17).
public struct Erasure: Sendable {
    /// Tokens destroyed, per kind (kinds with none left out).
    public let tokens: [Kind: Int]
    /// The version of the data key destroyed; nil when the subject held none (unknown, already erased, or
    /// emptied by retention).
    public let dataKeyVersion: Int?
    /// The erase's own audit record (its seq and hash are the receipt's `audit_head`).
    public let record: AuditRow
    /// The erasure receipt: a `Statement` of type `erasure_receipt`, signed with the audit key
    /// (`cvault statement verify`).
    public let receipt: Statement

    /// How many tokens went, all kinds together: what `erase` has always answered.
    public var erased: Int { tokens.values.reduce(0, +) }
}

extension Vault {
    /// Crypto-shredding: destroys the subject's wrapped data key, every token row and every stored idempotent
    /// answer in one transaction, then scrubs the store (`VaultStore.writeAndScrub`): when this returns, no
    /// byte of what was deleted remains in any file the store keeps. The same transaction counts the tokens
    /// per kind before they go and appends the audit record with those counts and the data key's version, so
    /// the record holds the receipt's facts after the subject is gone. Answers with the erasure receipt
    /// (`Erasure.receipt`), which covers that record. An unknown or already-erased subject gets a receipt
    /// too: it proves the vault held nothing of it then.
    ///
    /// If the erase committed but the scrub could not finish, throws `.storage` saying so, and issues no
    /// receipt: the subject is erased either way (its audit record says what went), the store scrubs again at
    /// its next chance, and the same erase run again answers 0 with a receipt.
    @discardableResult
    public func erase(subject: Subject, caller: Caller) async throws(VaultError) -> Erasure {
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
            let known = try writer.subject(named: subject.name)
            var tokens: [Kind: Int] = [:]
            if let known {
                for token in try writer.tokens(subjectID: known.id) { tokens[token.kind, default: 0] += 1 }
            }
            let dataKeyVersion = known.flatMap { $0.hasDataKey ? $0.dekVersion : nil }
            var done = allowed
            done.count = try writer.eraseSubject(named: subject.name)
            done.perKind =
                tokens.isEmpty
                ? nil : tokens.reduce(into: [:]) { $0[$1.key.rawValue] = AuditKindTally(tokens: $1.value) }
            done.dekVersion = dataKeyVersion
            let record = try AuditChain.append(done, to: writer, sealer: signer, now: now)
            return (tokens: tokens, dataKeyVersion: dataKeyVersion, record: record)
        }
        guard scrubbed else { throw Self.notScrubbed(subject: subject, tokens: erased.tokens.values.reduce(0, +)) }
        let body = try Self.receiptBody(
            subject: subject,
            reference: keys.current.subjectReference(subject),
            caller: caller,
            at: now,
            tokens: erased.tokens,
            dataKeyVersion: erased.dataKeyVersion,
            record: erased.record
        )
        return Erasure(
            tokens: erased.tokens,
            dataKeyVersion: erased.dataKeyVersion,
            record: erased.record,
            receipt: try issueStatement(.erasureReceipt, body: body, covering: erased.record)
        )
    }

    /// The receipt's body (docs/AUDIT.md, "Erasure receipts"): public facts only, the subject named by its id
    /// and by the keyed reference its audit records are indexed under.
    static func receiptBody(
        subject: Subject,
        reference: String,
        caller: Caller,
        at now: Int64,
        tokens: [Kind: Int],
        dataKeyVersion: Int?,
        record: AuditRow
    ) throws(VaultError) -> Statement.Body {
        var body = Statement.Body()
        body.set("subject", subject.name)
        body.set("subject_ref", reference)
        body.set("erased_at", VaultClock.iso8601(now))
        body.set("erased_by", caller.identity.name)
        body.set("roles", caller.identity.roles)
        var destroyed = Statement.Body()
        for (kind, count) in tokens { destroyed.set(kind.rawValue, count) }
        try body.set("tokens_destroyed", destroyed)
        body.set("tokens_destroyed_total", tokens.values.reduce(0, +))
        try body.set("data_key_version", dataKeyVersion.map { JSONValue.int(Int64($0)) } ?? .null)
        var audited = Statement.Body()
        audited.set("seq", record.seq)
        audited.set("hash", Hex.encode(record.hash))
        try body.set("audit_record", audited)
        return body
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
