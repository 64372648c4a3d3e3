/// A tokenize call: values of one kind for one subject.
public struct TokenizeRequest: Sendable, Equatable {
    public var kind: Kind
    public var subject: Subject
    public var values: [String]
    public var limits: TokenLimits
    public var idempotencyKey: IdempotencyKey?
    /// Only for deterministic tokens: equal values in the same scope get the same token.
    public var scope: Scope

    public init(
        kind: Kind,
        subject: Subject,
        values: [String],
        limits: TokenLimits = .none,
        idempotencyKey: IdempotencyKey? = nil,
        scope: Scope = .default
    ) {
        self.kind = kind
        self.subject = subject
        self.values = values
        self.limits = limits
        self.idempotencyKey = idempotencyKey
        self.scope = scope
    }
}

extension Vault {
    /// Validates and normalizes every value, then stores them all in one durable transaction and returns one
    /// token per value, in order. Any invalid value fails the whole batch and nothing is stored.
    public func tokenize(_ request: TokenizeRequest, caller: Caller) async throws(VaultError) -> [String] {
        try await keys.withCurrentKeys { keyring in try await self.tokenize(request, caller: caller, keyring: keyring) }
    }

    /// One attempt of `tokenize` with `keyring` (`KeyringHolder.withCurrentKeys`).
    private func tokenize(_ request: TokenizeRequest, caller: Caller, keyring: Keyring) async throws -> [String] {
        let policy = self.policy
        let kind = request.kind
        // The limits are params (step 3 of docs/PROTOCOL.md §6.6), checked against the vault's clock; the item
        // count (4) comes before the policy (5).
        let now = clock.now()
        try request.limits.check(now: now)
        let maxBatch = policy.limits(for: caller.identity).maxBatch
        guard request.values.count <= maxBatch else {
            throw VaultError.tooLarge(
                count: request.values.count,
                limit: maxBatch,
                field: .values,
                identity: caller.identity.name
            )
        }
        let decision = policy.tokenizeDecision(identity: caller.identity, kind: kind)
        guard decision.isAllowed else {
            try await refuse(
                .tokenize,
                caller,
                kind: kind,
                count: request.values.count,
                subject: request.subject,
                keyring: keyring,
                reason: "denied by policy"
            )
            throw VaultError(
                .denied,
                "\(caller.identity.name) may not tokenize \(kind.rawValue) values",
                hint: "grant `tokenize: [\(kind.rawValue)]` to one of its roles in the policy"
            )
        }
        guard !request.values.isEmpty else {
            throw VaultError(.invalidRequest, "no values to tokenize", hint: "send at least one value")
        }
        let normalized = try request.values.enumerated().map { (i, v) throws(VaultError) in
            try kind.normalize(v, index: i)
        }
        let mode = policy.tokenMode(for: kind)
        // A deterministic token is shared by every equal value, of this subject and others, so it cannot carry
        // one caller's limits: refuse them rather than let them be silently dropped or applied to everyone.
        guard mode != .deterministic || request.limits.isEmpty else {
            throw VaultError.invalidRequest(
                "limits cannot be set on deterministic tokens: equal values share one token",
                hint: "leave out limits, or make \(kind.rawValue) opaque in the policy's kinds: to limit each token",
                field: .limits
            )
        }

        var made = AuditEvent(.tokenize, by: caller, at: now)
        made.kind = kind.rawValue
        made.mode = mode.rawValue
        made.count = normalized.count
        made.concern(request.subject, keyring: keyring)
        let event = made
        let idempotency = request.idempotencyKey.map {
            (
                key: Binding.idempotencyKey(identity: caller.identity.name, key: $0.text, lookupKey: keyring.lookupKey),
                request: Self.requestMAC(request, mode: mode, normalized: normalized, keyring: keyring)
            )
        }
        let writer = TokenWriter(
            keyring: keyring,
            kind: kind,
            mode: mode,
            subject: request.subject,
            scope: request.scope,
            limits: request.limits,
            now: now,
            keys: keys,
            retention: policy.retention(for: kind)
        )
        let lifetime = idempotencyLifetime
        return try await writeUnmapped { store in
            if let idempotency {
                // Each call with a key clears a few more expired records than it adds, so the table never holds
                // much more than a lifetime's worth, however the traffic runs (the server's housekeeping
                // clears the rest when no such calls come).
                _ = try store.purgeIdempotency(createdBefore: now - lifetime + 1, limit: Self.purgeBatchPerCall)
                if let replay = try writer.replay(
                    store,
                    keyHash: idempotency.key,
                    requestMAC: idempotency.request,
                    lifetime: lifetime
                ) {
                    var replayed = event
                    replayed.reason = "idempotent replay"
                    try AuditChain.append(replayed, to: store, sealer: self.auditSealer, now: now)
                    return replay
                }
            }
            let stored = try writer.store(normalized, in: store)
            try AuditChain.append(event, to: store, sealer: self.auditSealer, now: now)
            if let idempotency {
                try writer.remember(stored, store, keyHash: idempotency.key, requestMAC: idempotency.request)
            }
            return stored.tokens
        }
    }

    /// Expired idempotency records each tokenize with a key deletes, at most, inside its own write: a few
    /// B-tree deletes, bounded so no caller pays for a backlog.
    static let purgeBatchPerCall = 4

    /// Deletes idempotency records older than the lifetime, `batch` at a time (one write each), until none is
    /// left. Called by the server's housekeeping; returns how many went. Secure delete zeroes them in the
    /// database; their old page copies leave the WAL as it is reused (expiry is not erasure: the answers
    /// are sealed under their subjects' data keys either way).
    public func purgeExpiredIdempotency(batch: Int = 256) async throws(VaultError) -> Int {
        // Expired at exactly the lifetime, as `TokenWriter.replay` judges it.
        let cutoff = clock.now() - idempotencyLifetime + 1
        var total = 0
        while true {
            let purged = try await write { try $0.purgeIdempotency(createdBefore: cutoff, limit: batch) }
            total += purged
            if purged < batch { return total }
        }
    }

    /// Keyed fingerprint of everything that defines a tokenize call (`Binding.requestMAC`), so a reused
    /// idempotency key with other parameters is caught. Over normalized values, so formatting differences do
    /// not count as different requests.
    static func requestMAC(
        _ request: TokenizeRequest,
        mode: TokenMode,
        normalized: [String],
        keyring: Keyring
    ) -> [UInt8] {
        var fields: [[UInt8]] = [
            Array(request.kind.rawValue.utf8), Array(mode.rawValue.utf8), Array(request.subject.name.utf8),
            Array(request.scope.name.utf8),
        ]
        fields.append(Array((request.limits.purposes ?? []).map(\.name).joined(separator: ",").utf8))
        fields.append(Array("\(request.limits.expiresAt ?? -1)|\(request.limits.maxReveals ?? -1)".utf8))
        fields += normalized.map { Array($0.utf8) }
        let key = BLAKE2b.deriveKey(from: keyring.lookupKey, label: Binding.requestMACKeyLabel)
        return Binding.requestMAC(fields, key: key)
    }

    private func refuse(
        _ event: AuditEvent.Event,
        _ caller: Caller,
        kind: Kind?,
        count: Int?,
        subject: Subject,
        keyring: Keyring,
        reason: String
    ) async throws(VaultError) {
        var record = AuditEvent(event, by: caller, at: clock.now(), outcome: .denied)
        record.kind = kind?.rawValue
        record.count = count
        record.concern(subject, keyring: keyring)
        record.reason = reason
        try await appendAudit(record)
    }
}
