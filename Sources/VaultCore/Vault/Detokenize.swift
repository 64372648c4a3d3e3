/// One detokenize answer, in the order of the tokens asked for.
public enum RevealItem: Sendable, Equatable {
    case value(String, RevealMode)
    case error(RevealFailure)
}

/// Why one token was not revealed. One failed item never hides or fails the others.
public enum RevealFailure: String, Sendable, Equatable {
    /// The policy or the token's own limits do not allow this caller, kind and purpose.
    case denied
    /// Unknown, erased or expired.
    case notFound = "not_found"
    /// The stored row fails authentication (altered or moved).
    case integrity
}

extension Vault {
    /// The longest string looked up as a token; anything longer cannot be one of ours.
    static let maxTokenBytes = 512

    /// Turns tokens back into values or masks, through the gate. The audit record of every decision is durable
    /// before this returns, and if it cannot be written nothing is revealed.
    public func detokenize(_ tokens: [String], purpose: String, caller: Caller) async throws(VaultError) -> [RevealItem]
    {
        try await withCurrentKeys { () async throws(VaultError) -> [RevealItem] in
            try await self.detokenizeOnce(tokens, purpose: purpose, caller: caller)
        }
    }

    private func detokenizeOnce(
        _ tokens: [String],
        purpose: String,
        caller: Caller
    ) async throws(VaultError) -> [RevealItem] {
        try Self.validatePurpose(purpose)
        // A reveal needs a trustworthy audit log: on a chain rewritten under this process, fail closed.
        try auditSealer.requireIntact()
        let policy = self.policy
        let limits = policy.limits(for: caller.identity)
        guard !tokens.isEmpty else {
            throw VaultError(.invalidRequest, "no tokens to detokenize", hint: "send at least one token")
        }
        let itemLimit = limits.maxBatch
        guard tokens.count <= itemLimit else {
            throw .tooLarge(count: tokens.count, limit: itemLimit, field: .tokens, identity: caller.identity.name)
        }
        let keyring = self.keyring
        let now = clock.now()

        let rateLimiter = self.rateLimiter
        let missBudget = self.missBudget
        let signer = auditSealer
        // Where each token's row is: keyed hashes only, so computed before the store is involved (and spread
        // over the cores for a large call).
        let addresses = Parallel.map(tokens) { Address(token: $0, keyring: keyring) }
        // Finds each row and judges it (one policy decision per kind); then charges the call's misses to the
        // identity's miss budget, so guessing at tokens costs before anything is revealed; then the role's
        // reveal rate, counted before anything is decrypted (refused, never queued); then opens only what the
        // gate granted. A refusal by either refuses the call whole.
        let lookUp = { @Sendable (reader: any StoreReader) throws -> (pending: [Pending], refused: Refusal?) in
            let decisions = DecisionCache(policy: policy, caller: caller, purpose: purpose)
            let judged = try addresses.map { address in
                try Self.judge(address, reader: reader, purpose: purpose, decisions: decisions, now: now)
            }
            let refuseAll = { (refusal: Refusal) in
                (
                    judged.map {
                        Pending(reference: $0.reference, kind: $0.stored?.token.kind, outcome: .error(.denied))
                    }, refusal
                )
            }
            let misses = judged.filter { if case .notFound = $0.verdict { return true } else { return false } }.count
            let charge = missBudget.charge(
                identity: caller.identity.name,
                misses: misses,
                limit: limits.missesPerMinute
            )
            if !charge.answered {
                return refuseAll(
                    .misses(
                        caller.identity.name,
                        limit: limits.missesPerMinute,
                        retryAfterMilliseconds: charge.retryAfterMilliseconds
                    )
                )
            }
            let granted = judged.filter { if case .grant = $0.verdict { return true } else { return false } }.count
            if granted > 0, let perMinute = limits.revealsPerMinute,
                !rateLimiter.take(identity: caller.identity.name, count: granted, limit: perMinute)
            {
                return refuseAll(.reveals(caller.identity.name, limit: perMinute, revealing: granted))
            }
            let opened = Parallel.map(judged) { judged in Result { try Self.open(judged, keyring: keyring) } }
            return (try opened.map { try $0.get() }, nil)
        }
        // Counts limited reveals atomically and writes the audit record (refused or not), durably, together.
        let record = {
            @Sendable (
                writer: any StoreWriter,
                found: (pending: [Pending], refused: Refusal?),
                snapshot: ReadSnapshot
            ) throws -> (pending: [Pending], refused: Refusal?) in
            if let refusal = found.refused {
                try AuditChain.append(
                    self.detokenizeEvent(
                        found.pending,
                        purpose: purpose,
                        caller: caller,
                        now: now,
                        outcome: .refused,
                        reason: refusal.reason
                    ),
                    to: writer,
                    sealer: signer,
                    now: now
                )
                return found
            }
            var items = found.pending
            // Look-ups on an earlier snapshot may have found rows erased since: no value of an erased subject is
            // revealed (or audited as revealed). One primary-key probe per distinct subject, and only when the
            // store says an erase committed since the look-ups (rare); none otherwise.
            if snapshot == .erasedSince {
                var present: [Int64: Bool] = [:]
                for i in items.indices where items[i].isReveal {
                    guard let subjectID = items[i].subjectID else { continue }
                    let exists = try present[subjectID] ?? writer.subjectExists(id: subjectID)
                    present[subjectID] = exists
                    if !exists {
                        items[i] = Pending(
                            reference: items[i].reference,
                            kind: items[i].kind,
                            outcome: .error(.notFound)
                        )
                    }
                }
            }
            for i in items.indices {
                guard let claim = items[i].claim else { continue }
                if try !writer.claimReveal(tokenID: claim) {
                    items[i].outcome = .error(.denied)
                }
            }
            try AuditChain.append(
                self.detokenizeEvent(items, purpose: purpose, caller: caller, now: now, outcome: .ok),
                to: writer,
                sealer: signer,
                now: now
            )
            // The append itself may have found the chain broken: then this job is undone and nothing revealed.
            try signer.requireIntact()
            return (items, nil)
        }

        // The store picks where the look-ups run (see `VaultStore.readThenWrite`); `record` re-checks what can
        // change in between: the reveal budgets, by claiming them in the write, and the rows, still there.
        let final = try await readThenWrite(items: tokens.count, read: lookUp, write: record)

        // A refused call is audited as refused, and reveals nothing.
        if let refusal = final.refused { throw refusal.error }
        return final.pending.map(\.outcome)
    }

    /// Why a whole call was refused by a rate: the audit record's reason and the error thrown.
    struct Refusal: Sendable {
        var reason: String
        var error: VaultError

        /// Over `misses_per_minute`: the call's `not_found` items did not fit what was left.
        static func misses(_ identity: String, limit: Int, retryAfterMilliseconds: Int) -> Refusal {
            let error = VaultError.rateLimited(
                "\(identity) is over its budget of \(limit) unknown tokens per minute",
                hint:
                    "retry later; check that it is not sending tokens the vault does not hold (erased, expired or guessed), "
                    + "or raise misses_per_minute for its role in the policy",
                field: .missesPerMinute,
                limit: limit,
                retryAfterMilliseconds: retryAfterMilliseconds
            )
            return Refusal(reason: "miss budget", error: error)
        }

        /// Over `reveals_per_minute`: the call would reveal more than the bucket holds.
        static func reveals(_ identity: String, limit: Int, revealing: Int) -> Refusal {
            let error = VaultError.rateLimited(
                "\(identity) is over its reveal rate of \(limit) values per minute",
                hint: "retry later, or raise reveals_per_minute for its role in the policy",
                field: .revealsPerMinute,
                limit: limit,
                // The bucket refills at limit/60 per second: enough for this call after about this long.
                retryAfterMilliseconds: max(1, revealing * 60_000 / max(1, limit))
            )
            return Refusal(reason: "rate limited", error: error)
        }
    }

    struct Pending: Sendable {
        var reference: String
        var kind: Kind?
        var outcome: RevealItem
        /// The row id of a token with a reveal budget: counted in the audit transaction.
        var claim: Int64?
        /// The subject of a revealed row: confirmed still there in the audit transaction.
        var subjectID: Int64?
        var isReveal: Bool { if case .value = outcome { return true } else { return false } }
    }

    /// One token found and judged, not yet opened.
    struct Judged: Sendable {
        var reference: String
        var stored: StoredToken?
        var verdict: Gate.Verdict
    }

    /// Where a token's row is, worked out from the token alone.
    struct Address: Sendable {
        /// How the audit record names the token (docs/AUDIT.md).
        var reference: String
        /// Nil for a string too long to be a token: nothing is looked up.
        var lookup: [UInt8]?
        /// The row id an opaque token carries (any string of that shape decodes to one).
        var carriedID: Int64?

        init(token: String, keyring: Keyring) {
            guard token.utf8.count <= Vault.maxTokenBytes else {
                self.init(reference: "ref:oversized", lookup: nil, carriedID: nil)
                return
            }
            let lookup = Binding.lookup(token: token, key: keyring.lookupKey)
            self.init(
                reference: Binding.auditReference(token: token, key: keyring.auditReferenceKey),
                lookup: lookup,
                carriedID: TokenFormat.carriedID(token, key: keyring.addressKey)
            )
        }

        private init(reference: String, lookup: [UInt8]?, carriedID: Int64?) {
            self.reference = reference
            self.lookup = lookup
            self.carriedID = carriedID
        }
    }

    static func judge(
        _ address: Address,
        reader: any StoreReader,
        purpose: String,
        decisions: DecisionCache,
        now: Int64
    ) throws -> Judged {
        let rows = try rows(at: address, reader: reader)
        let stored = rows.first { row in row.token.limits.expiresAt.map { $0 > now } ?? true } ?? rows.first
        return Judged(
            reference: address.reference,
            stored: stored,
            verdict: Gate.judge(stored, purpose: purpose, decisions: decisions, now: now)
        )
    }

    /// The rows a token names. An opaque token carries its row id; the row is its only if the row's look-up key
    /// is this token's (compared in constant time), since any string of the right shape decodes to some id.
    /// Every other token, and an opaque one from before schema 2, is found by its look-up key.
    static func rows(at address: Address, reader: any StoreReader) throws -> [StoredToken] {
        guard let lookup = address.lookup else { return [] }
        if let id = address.carriedID, let row = try reader.token(id: id), ConstantTime.equal(row.token.lookup, lookup)
        {
            return [row]
        }
        return try reader.tokens(lookup: lookup)
    }

    /// Opens a granted token (only a grant can); anything else becomes its error item.
    static func open(_ judged: Judged, keyring: Keyring) throws -> Pending {
        let kind = judged.stored?.token.kind
        switch judged.verdict {
        case .notFound:
            return Pending(reference: judged.reference, kind: kind, outcome: .error(.notFound))
        case .deny:
            return Pending(reference: judged.reference, kind: kind, outcome: .error(.denied))
        case .grant(let grant):
            let stored = judged.stored!
            let claim = stored.token.limits.maxReveals == nil ? nil : stored.token.id
            let opened: Result<String, VaultError> = Result { () throws(VaultError) -> String in
                let dek = try VaultCipher.dataKey(of: stored.subject, keyring: keyring)
                return try VaultCipher.open(stored, dek: dek, grant: grant)
            }
            switch opened {
            case .success(let value):
                return Pending(
                    reference: judged.reference,
                    kind: kind,
                    outcome: .value(value, grant.mode),
                    claim: claim,
                    subjectID: stored.subject.id
                )
            case .failure(let error):
                guard error.code == .integrity else { throw error }
                return Pending(reference: judged.reference, kind: kind, outcome: .error(.integrity))
            }
        }
    }

    func detokenizeEvent(
        _ items: [Pending],
        purpose: String,
        caller: Caller,
        now: Int64,
        outcome: AuditEvent.Outcome,
        reason: String? = nil
    ) -> AuditEvent {
        let audited = items.map { item -> AuditItem in
            let decision: AuditItem.Decision
            switch item.outcome {
            case _ where outcome == .refused: decision = .refused
            case .value(_, let mode): decision = .revealed(mode)
            case .error(let failure): decision = .notRevealed(failure)
            }
            return AuditItem(token: item.reference, kind: item.kind?.rawValue, decision: decision)
        }
        return AuditEvent(
            at: VaultClock.iso8601(now),
            event: .detokenize,
            count: items.count,
            purpose: purpose,
            items: audited,
            outcome: outcome,
            reason: reason
        ).asked(by: caller)
    }
}
