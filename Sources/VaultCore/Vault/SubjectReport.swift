extension Vault {
    /// Audit records read per page of a subject's records.
    static let reportPage = 1_000

    /// A subject's access report (GDPR Art. 15) as a signed statement (`Statement`, type `access_report`):
    /// the tokens held, the consent state and history, the restriction, every disclosure and refusal, and
    /// every other audit record concerning the subject (`AccessReport`). Needs `report: true` (a denial is
    /// audited). Works after an erase: the subject's audit records outlive it.
    ///
    /// The report is audited (`subject_report`, concerning the subject) inside the write transaction that
    /// reads what it covers: its own record is the head the statement names, and the report holds every
    /// record concerning the subject up to it. The records are found by the subject's keyed reference in
    /// the store's index (`StoreReader.auditRows(concerning:after:limit:)`), never by reading the log: most
    /// of them on a reader before the write, a page at a time, and in the write only those committed since.
    public func report(subject: Subject, caller: Caller) async throws(VaultError) -> Statement {
        let keyring = keys.current
        let policy = self.policy
        let now = clock.now()
        var event = AuditEvent(.subjectReport, by: caller, at: now)
        event.concern(subject, keyring: keyring)
        guard policy.reportDecision(identity: caller.identity).isAllowed else {
            try await refuse(
                event,
                PermissionRefusal(what: "issue access reports", permission: "report"),
                caller: caller
            )
        }
        // A report vouches for the log: on a chain rewritten under this process, fail closed.
        try auditSealer.requireIntact()
        let reference = keyring.subjectReference(subject)
        guard let index = Binding.subjectReferenceBytes(reference) else {
            throw VaultError(.internal, "a subject reference did not parse", hint: "report this with the server log")
        }
        let sealer = auditSealer
        let allowed = event
        let read: ReportRead
        do {
            // At least a page of records to read: a busy store reads them on a reader, not in the write.
            read = try await readThenWriteUnmapped(items: Self.reportPage) { reader in
                try Self.records(concerning: index, after: 0, reader)
            } write: { writer, earlier, _ in
                let records = earlier + (try Self.records(concerning: index, after: earlier.last?.seq ?? 0, writer))
                let row = try writer.subject(named: subject.name)
                var done = allowed
                done.count = records.count
                let head = try AuditChain.append(done, to: writer, sealer: sealer, now: now)
                return ReportRead(
                    row: row,
                    tokens: try row.map { try writer.tokens(subjectID: $0.id) } ?? [],
                    consents: try row.map { try writer.consents(subjectID: $0.id) } ?? [],
                    history: try row.map { try writer.consentHistory(subjectID: $0.id) } ?? [],
                    records: records + [head],
                    head: head
                )
            }
        } catch {
            throw Self.map(error)
        }
        // Assembled after the write, so the writer is not held for it.
        let report = try AccessReport(
            subject: subject,
            row: read.row,
            tokens: read.tokens,
            consents: read.consents,
            history: read.history,
            records: read.records,
            subjectReference: reference,
            tokenReferenceKey: BLAKE2b.deriveKey(from: keyring.lookupKey, label: Binding.tokenReferenceKeyLabel),
            retention: { [policy] in policy.retention(for: $0) },
            now: now
        )
        return try Statement.issue(
            type: .accessReport,
            body: try report.body,
            head: read.head,
            at: now,
            keyring: keyring
        )
    }

    /// What a report's write read: the subject's rows as of the report's audit record, and every audit record
    /// concerning it up to that one (the last, and the head).
    private struct ReportRead: Sendable {
        var row: SubjectRecord?
        var tokens: [TokenRecord]
        var consents: [ConsentRecord]
        var history: [ConsentRecord]
        var records: [AuditRow]
        /// The report's own record.
        var head: AuditRow
    }

    /// Every audit record indexed under `reference` with `seq > after`, in order, a page at a time.
    private static func records(
        concerning reference: [UInt8],
        after seq: Int64,
        _ reader: any StoreReader
    ) throws -> [AuditRow] {
        var records: [AuditRow] = []
        var last = seq
        while true {
            let page = try reader.auditRows(concerning: reference, after: last, limit: reportPage)
            records += page
            guard page.count == reportPage, let next = page.last?.seq else { return records }
            last = next
        }
    }
}
