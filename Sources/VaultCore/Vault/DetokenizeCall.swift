/// One detokenize call, as named steps in the order they run. `Vault.detokenize` checks the request, makes
/// the call, and hands its two halves to the store (`VaultStore.readThenWrite`): `lookUp` as the read and
/// `record` as the write.
///
/// 1. **Address** (`Address`): where each token's row is, from keyed hashes of the token alone, before the
///    store is involved (spread over the cores for a large call).
/// 2. **Look up** (`rows`): the rows each token names.
/// 3. **Judge** (`judge`): the gate's verdict on each row (one policy decision per kind), then the subject's
///    own word (`withheld`): a restricted subject is revealed only for an exempt purpose, and a purpose that
///    needs consent only for a subject holding a current grant (one probe per distinct subject, and only for
///    such a purpose). Only a grant that passes both can open a value.
/// 4. **Budget** (`budget`): the call's misses are charged to the identity's miss budget, so guessing at
///    tokens costs before anything is revealed; then its grants are taken from the role's reveal rate
///    (refused, never queued). Either refusing refuses the call whole. With the budgets in this process
///    (`BudgetPlace.process`) this is decided here, before anything is decrypted; with the budgets in a store
///    several servers share (`BudgetPlace.store`), in the write (step 6), the only place that sees every
///    server's takes, and what step 5 opened is then dropped unanswered if the call is refused.
/// 5. **Open** (`open`): only what the gate granted is decrypted.
/// 6. **Record** (`record`, in the write): takes the budget if it is kept in the store, re-checks what can
///    change after the look-ups (a subject erased, restricted or withdrawing consent since their snapshot;
///    limited reveals, claimed atomically) and appends the audit record, refused or not. The store makes it
///    durable before the answer leaves, so a consent decision or restriction that answered before this write
///    is in force for it. A refused call changes nothing but its audit record and its misses' charge.
///
/// When several reasons keep a token closed, the item names the first of: `not_found`, `denied` (the
/// policy or the token's own limits), `restricted`, `no_consent`. A caller the policy denies learns nothing
/// of the subject's choices, and a restriction (every purpose) is named before a missing grant (one).
struct DetokenizeCall: Sendable {
    /// Step 1, done before the call is made: where each asked token's row is, in the order asked.
    let addresses: [Address]
    let purpose: Purpose
    let caller: Caller
    /// Taken once, so the whole call is judged by one policy; `limits` are the caller's under it.
    let policy: Policy
    let limits: RoleLimits
    /// The attempt's keyring (`KeyringHolder.withCurrentKeys`).
    let keyring: Keyring
    /// The call's time (Unix seconds): expiry is judged and the audit record stamped by it.
    let now: Int64
    /// The vault's budgets, shared by every call (and, in the store, by every server).
    let budgets: BudgetPlace
    /// Appends the audit record, and knows whether the chain is still intact.
    let sealer: AuditSealer
    /// Set when the call is a subject's export (`Vault.export`): its addresses are that subject's rows, only
    /// plain grants open, and the record is a `subject_export` concerning the subject.
    var export: Subject? = nil

    /// What the look-ups found for the whole call.
    enum Found: Sendable {
        /// Every token judged and each granted one opened: the answers, in the order asked.
        case answered([Answer])
        /// The same, with the budget still to be taken in the write (`BudgetPlace.store`): what it asks.
        case opened([Answer], Demand)
        /// A budget refused the call whole; nothing was opened. The tokens as judged, for the audit record.
        case refused(Refusal, [Judged])
    }

    /// One token after the gate. The kind is that of the row found, even when nothing is revealed: the audit
    /// record names it.
    enum Judged: Sendable {
        /// `subject` and `kind` are the row's when a row was found (expired, or hidden by its own limits).
        case notFound(reference: String, kind: Kind?, subject: String?)
        case denied(reference: String, kind: Kind, subject: String)
        /// Granted by the policy, kept closed by the subject: `restricted` or `no_consent`.
        case withheld(reference: String, kind: Kind, subject: String, RevealFailure)
        case granted(reference: String, StoredToken, RevealGrant)

        var reference: String {
            switch self {
            case .notFound(let reference, _, _), .denied(let reference, _, _), .withheld(let reference, _, _, _),
                .granted(let reference, _, _):
                reference
            }
        }

        var kind: Kind? {
            switch self {
            case .notFound(_, let kind, _): kind
            case .denied(_, let kind, _), .withheld(_, let kind, _, _): kind
            case .granted(_, let stored, _): stored.token.kind
            }
        }

        /// The id of the subject whose row was found, for the audit record's subject references.
        var subject: String? {
            switch self {
            case .notFound(_, _, let subject): subject
            case .denied(_, _, let subject), .withheld(_, _, let subject, _): subject
            case .granted(_, let stored, _): stored.subject.name
            }
        }
    }

    /// One token's answer, as `record` audits and returns it.
    struct Answer: Sendable {
        var reference: String
        var kind: Kind?
        /// The id of the subject whose row was found (`Judged.subject`).
        var subject: String?
        var item: RevealItem
        /// For a revealed value: the row, to count if it has a reveal budget, and its subject, to confirm
        /// still there if an erase committed since the look-ups.
        var revealed: (tokenID: Int64, limited: Bool, subjectID: Int64)?
    }

    // MARK: The read

    /// Steps 2 to 5, in the store's read.
    func lookUp(_ reader: any StoreReader) throws -> Found {
        let decisions = DecisionCache(policy: policy, caller: caller, purpose: purpose, plainOnly: export != nil)
        let consents = ConsentProbe(reader, policy: policy, purpose: purpose, now: now)
        // The rows opaque tokens name, asked for together (one round trip on a store that pays one per query).
        let carried = try reader.tokens(ids: addresses.compactMap { $0.lookup == nil ? nil : $0.carriedID })
        let judged = try addresses.map { address in
            try judge(
                address,
                rows: try Self.rows(at: address, carried: carried, reader: reader),
                decisions: decisions,
                consents: consents
            )
        }
        let demand = Demand(judged)
        if case .process(let budgets) = budgets, let refusal = try budget(demand, from: budgets) {
            return .refused(refusal, judged)
        }
        let opened = try Parallel.map(judged) { judged in Result { try open(judged) } }.map { try $0.get() }
        if case .store = budgets { return .opened(opened, demand) }
        return .answered(opened)
    }

    /// The rows a token names. An opaque token carries its row id; the row is its only if the row's look-up key
    /// is this token's (compared in constant time), since any string of the right shape decodes to some id.
    /// Every other token, and an opaque one from before schema 2, is found by its look-up key.
    /// `carried` holds the rows of the addresses' carried ids, read beforehand (`StoreReader.tokens(ids:)`).
    static func rows(
        at address: Address,
        carried: [Int64: StoredToken],
        reader: any StoreReader
    ) throws -> [StoredToken] {
        guard let lookup = address.lookup else { return [] }
        if let id = address.carriedID, let row = carried[id], ConstantTime.equal(row.token.lookup, lookup) {
            return [row]
        }
        let rows = try reader.tokens(lookup: lookup)
        // An address made from a row (an export) names that row only, never another subject's row of a shared
        // deterministic token.
        guard let only = address.row else { return rows }
        return rows.filter { $0.token.id == only }
    }

    /// The gate's verdict on the first live row (`Gate.isLive`: not expired, not past its kind's retention; or,
    /// for the audit record's kind, the first row), then
    /// the subject's own word on a grant (`withheld`).
    func judge(
        _ address: Address,
        rows: [StoredToken],
        decisions: DecisionCache,
        consents: ConsentProbe
    ) throws -> Judged {
        let reference = address.reference
        let live = rows.first { Gate.isLive($0, decisions: decisions, now: now) }
        guard let stored = live ?? rows.first else {
            return .notFound(reference: reference, kind: nil, subject: nil)
        }
        switch Gate.judge(stored, purpose: purpose, decisions: decisions, now: now) {
        case .notFound: return .notFound(reference: reference, kind: stored.token.kind, subject: stored.subject.name)
        case .deny: return .denied(reference: reference, kind: stored.token.kind, subject: stored.subject.name)
        case .grant(let grant):
            if let failure = try withheld(stored.subject, consents: consents) {
                return .withheld(reference: reference, kind: stored.token.kind, subject: stored.subject.name, failure)
            }
            return .granted(reference: reference, stored, grant)
        }
    }

    /// Why `subject` keeps a granted token closed for this call's purpose, or nil: `restricted` while its
    /// processing is restricted and the purpose is not exempt, else `no_consent` when the purpose needs
    /// consent and the subject holds no current grant. The restriction comes with the subject's row; consent
    /// is asked of the store only for a purpose that needs it. The same rule in the read and in the write.
    func withheld(_ subject: SubjectRecord, consents: ConsentProbe) throws -> RevealFailure? {
        if subject.restriction != nil, !policy.isRestrictionExempt(purpose) { return .restricted }
        if consents.required, try !consents.permits(subjectID: subject.id) { return .noConsent }
        return nil
    }

    /// What a call asks of its identity's budgets: its `not_found` items (misses) and its grants (reveals),
    /// as judged from the look-ups.
    struct Demand: Sendable, Equatable {
        var misses: Int
        var reveals: Int

        init(_ judged: [Judged]) {
            misses = judged.filter { if case .notFound = $0 { true } else { false } }.count
            reveals = judged.filter { if case .granted = $0 { true } else { false } }.count
        }
    }

    /// The call's refusal by the miss budget or the reveal rate, or nil when both let it through. The misses
    /// are charged even when the call is then refused. The one rule, wherever `budgets` keeps the buckets.
    func budget(_ demand: Demand, from budgets: some Budgets) throws -> Refusal? {
        let identity = caller.identity.name
        let charge = try budgets.chargeMisses(identity: identity, misses: demand.misses, limit: limits.missesPerMinute)
        guard charge.answered else {
            return .misses(
                identity,
                limit: limits.missesPerMinute,
                retryAfterMilliseconds: charge.retryAfterMilliseconds
            )
        }
        if demand.reveals > 0, let perMinute = limits.revealsPerMinute,
            try !budgets.takeReveals(identity: identity, count: demand.reveals, limit: perMinute)
        {
            return .reveals(identity, limit: perMinute, revealing: demand.reveals)
        }
        return nil
    }

    /// Opens a granted token (only a grant can); anything else becomes its error item. A row that fails
    /// authentication is an `integrity` item; a KEK this keyring lacks is `KeyringOutdated` (the call is
    /// retried with the keyring reloaded).
    func open(_ judged: Judged) throws -> Answer {
        let answer = { (item: RevealItem) in
            Answer(reference: judged.reference, kind: judged.kind, subject: judged.subject, item: item)
        }
        switch judged {
        case .notFound: return answer(.error(.notFound))
        case .denied: return answer(.error(.denied))
        case .withheld(_, _, _, let failure): return answer(.error(failure))
        case .granted(_, let stored, let grant):
            let value: String
            do {
                let dek = try VaultCipher.dataKey(of: stored.subject, keyring: keyring)
                value = try VaultCipher.open(stored, dek: dek, grant: grant)
            } catch let error as VaultError where error.code == .integrity {
                return answer(.error(.integrity))
            }
            var opened = answer(.value(value, grant.mode))
            opened.revealed = (stored.token.id, stored.token.limits.maxReveals != nil, stored.subject.id)
            return opened
        }
    }

    // MARK: The write

    /// The call's answer as recorded: the items, or the refusal to throw once its audit record is durable.
    typealias Answered = Result<[RevealItem], VaultError>

    /// Step 6, in the store's write: the call's answer, with its audit record appended in the same
    /// transaction. A refused call is recorded as refused and answers its error once that record is durable.
    func record(_ writer: any StoreWriter, found: Found, snapshot: ReadSnapshot) throws -> Answered {
        switch found {
        case .refused(let refusal, let judged):
            return try refuse(refusal, judged.map { ($0.reference, $0.kind, $0.subject) }, writer: writer)
        case .opened(let answers, let demand):
            guard case .store(let clock) = budgets else {
                throw VaultError(.internal, "a call was opened for budgets kept in the store, but they are not")
            }
            if let refusal = try budget(demand, from: StoredBudgets(writer: writer, now: clock.milliseconds())) {
                return try refuse(refusal, answers.map { ($0.reference, $0.kind, $0.subject) }, writer: writer)
            }
            return try reveal(answers, writer: writer, snapshot: snapshot)
        case .answered(let answers):
            return try reveal(answers, writer: writer, snapshot: snapshot)
        }
    }

    /// A refused call's record: every token as `refused`. Nothing else of the call is written.
    private func refuse(
        _ refusal: Refusal,
        _ tokens: [(reference: String, kind: Kind?, subject: String?)],
        writer: any StoreWriter
    ) throws -> Answered {
        let refused = event(
            tokens.map { ($0.reference, $0.kind, $0.subject, .refused) },
            outcome: .refused,
            reason: refusal.reason
        )
        try AuditChain.append(refused, to: writer, sealer: sealer, now: now)
        return .failure(refusal.error)
    }

    /// An answered call's record: its subjects re-checked if they may have changed, its limited reveals
    /// claimed, and its audit record appended.
    private func reveal(_ answers: [Answer], writer: any StoreWriter, snapshot: ReadSnapshot) throws -> Answered {
        var answers = answers
        if snapshot == .changedSince { try recheckSubjects(&answers, writer: writer) }
        for i in answers.indices {
            guard let revealed = answers[i].revealed, revealed.limited else { continue }
            if try !writer.claimReveal(tokenID: revealed.tokenID) {
                answers[i].item = .error(.denied)
            }
        }
        let items = answers.map { ($0.reference, $0.kind, $0.subject, $0.decision) }
        try AuditChain.append(event(items, outcome: .ok), to: writer, sealer: sealer, now: now)
        // The append itself may have found the chain broken: then this job is undone and nothing revealed.
        try sealer.requireIntact()
        return .success(answers.map(\.item))
    }

    /// Look-ups on an earlier snapshot may have found subjects that were erased, restricted or withdrew
    /// consent since: the write sees every decision that answered before it, so no value is revealed (or
    /// audited as revealed) against one. Each revealed item's subject is read again by its primary key, and
    /// for a purpose that needs consent its grant probed, once per distinct subject, and only when the store
    /// says such a change committed since the look-ups (rare).
    private func recheckSubjects(_ answers: inout [Answer], writer: any StoreWriter) throws {
        let consents = ConsentProbe(writer, policy: policy, purpose: purpose, now: now)
        var verdicts: [Int64: RevealFailure?] = [:]
        for i in answers.indices {
            guard let subjectID = answers[i].revealed?.subjectID else { continue }
            let verdict: RevealFailure?
            if let known = verdicts[subjectID] {
                verdict = known
            } else if let subject = try writer.subject(id: subjectID) {
                verdict = try withheld(subject, consents: consents)
                verdicts[subjectID] = verdict
            } else {
                // Erased since the look-ups.
                verdict = .notFound
                verdicts[subjectID] = verdict
            }
            if let verdict {
                answers[i].item = .error(verdict)
                answers[i].revealed = nil
            }
        }
    }

    /// The call's audit record (docs/AUDIT.md): one item per token asked, in order, each pointing at the
    /// reference of the subject whose row it found (a subject's report finds the record by it). Each distinct
    /// subject is hashed once.
    func event(
        _ items: [(reference: String, kind: Kind?, subject: String?, decision: AuditItem.Decision)],
        outcome: AuditEvent.Outcome,
        reason: String? = nil
    ) -> AuditEvent {
        var event = AuditEvent(export == nil ? .detokenize : .subjectExport, by: caller, at: now, outcome: outcome)
        event.count = items.count
        event.purpose = purpose.name
        var indexes: [String: Int] = [:]
        if let export { indexes[export.name] = event.concern(export, keyring: keyring) }
        // Indexed by name here: `refer(to:)` searches the list, once per item for a call of many subjects.
        var refs = event.subjectRefs ?? []
        let audited = items.map { item in
            let subject = item.subject.map { name in
                if let known = indexes[name] { return known }
                refs.append(Binding.subjectReference(name, key: keyring.subjectReferenceKey))
                indexes[name] = refs.count - 1
                return refs.count - 1
            }
            return AuditItem(
                token: item.reference,
                kind: item.kind?.rawValue,
                decision: item.decision,
                subject: subject
            )
        }
        event.subjectRefs = refs.isEmpty ? nil : refs
        event.items = audited
        event.reason = reason
        return event
    }
}

extension DetokenizeCall.Answer {
    /// How the audit record names this answer: the reveal mode, or the failure.
    var decision: AuditItem.Decision {
        switch item {
        case .value(_, let mode): .revealed(mode)
        case .error(let failure): .notRevealed(failure)
        }
    }
}

extension DetokenizeCall {
    /// Where a token's row is, worked out from the token alone.
    struct Address: Sendable {
        /// How the audit record names the token (docs/AUDIT.md).
        var reference: String
        /// Nil for a string too long to be a token: nothing is looked up.
        var lookup: [UInt8]?
        /// The row id an opaque token carries (any string of that shape decodes to one).
        var carriedID: Int64?
        /// For an address made from a row (`init(row:reference:)`): that row's id, the only row it names.
        var row: Int64?

        init(token: String, keyring: Keyring) {
            guard token.utf8.count <= Vault.maxTokenBytes else {
                self.init(reference: "ref:oversized", lookup: nil, carriedID: nil)
                return
            }
            self.init(
                reference: Binding.auditReference(token: token, key: keyring.auditReferenceKey),
                lookup: Binding.lookup(token: token, key: keyring.lookupKey),
                carriedID: TokenFormat.carriedID(token, key: keyring.addressKey)
            )
        }

        /// The address of a row the vault already holds (a subject's export), named by `reference`.
        init(row: TokenRecord, reference: String) {
            self.init(
                reference: reference,
                lookup: row.lookup,
                carriedID: row.addressing == .id ? row.id : nil,
                row: row.id
            )
        }

        private init(reference: String, lookup: [UInt8]?, carriedID: Int64?, row: Int64? = nil) {
            self.reference = reference
            self.lookup = lookup
            self.carriedID = carriedID
            self.row = row
        }
    }
}

/// The consent grants one call's judging asks about (one store, one purpose, one instant), each subject's
/// asked once. Lives inside one call on one thread, like `DecisionCache`.
final class ConsentProbe {
    /// Whether the call's purpose needs consent under the call's policy: asked once per call, so a purpose
    /// that needs none costs each token nothing.
    let required: Bool
    private let reader: any StoreReader
    private let purpose: Purpose
    private let now: Int64
    private var known: [Int64: Bool] = [:]

    init(_ reader: any StoreReader, policy: Policy, purpose: Purpose, now: Int64) {
        self.required = policy.needsConsent(purpose)
        self.reader = reader
        self.purpose = purpose
        self.now = now
    }

    /// Whether the subject's latest decision for the purpose is a grant in force at `now`.
    func permits(subjectID: Int64) throws -> Bool {
        if let cached = known[subjectID] { return cached }
        let permits = try reader.consent(subjectID: subjectID, purpose: purpose)?.permits(at: now) ?? false
        known[subjectID] = permits
        return permits
    }
}
