/// A tokenize call: values of one kind for one subject.
public struct TokenizeRequest: Sendable, Equatable {
    public var kind: Kind
    public var subject: String
    public var values: [String]
    public var limits: TokenLimits
    public var idempotencyKey: String?
    /// Only for deterministic tokens: equal values in the same scope get the same token.
    public var scope: String

    public init(
        kind: Kind,
        subject: String,
        values: [String],
        limits: TokenLimits = .none,
        idempotencyKey: String? = nil,
        scope: String = "default"
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
    public static let maxSubjectBytes = 128

    /// Validates and normalizes every value, then stores them all in one durable transaction and returns one
    /// token per value, in order. Any invalid value fails the whole batch and nothing is stored.
    public func tokenize(_ request: TokenizeRequest, caller: Caller) async throws(VaultError) -> [String] {
        try await withCurrentKeys { () async throws(VaultError) -> [String] in
            try await self.tokenizeOnce(request, caller: caller)
        }
    }

    private func tokenizeOnce(_ request: TokenizeRequest, caller: Caller) async throws(VaultError) -> [String] {
        let policy = self.policy
        let kind = request.kind
        // The item count comes before the policy (docs/PROTOCOL.md §6.6).
        let maxBatch = policy.limits(for: caller.identity).maxBatch
        guard request.values.count <= maxBatch else {
            throw .tooLarge(
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
                subjects: [request.subject],
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
        try Self.validateSubject(request.subject)
        guard !request.scope.isEmpty, request.scope.utf8.count <= 128, TokenFormat.isValidScope(request.scope) else {
            throw .invalidRequest(
                "the scope must be 1 to 128 bytes without NUL characters",
                hint: "leave it out for the default scope",
                field: .scope
            )
        }
        try Self.validate(request.limits, now: clock.now())
        let normalized = try request.values.enumerated().map { (i, v) throws(VaultError) in
            try kind.normalize(v, index: i)
        }
        let mode = policy.tokenMode(for: kind)
        // A deterministic token is shared by every equal value, of this subject and others, so it cannot carry
        // one caller's limits: refuse them rather than let them be silently dropped or applied to everyone.
        guard mode != .deterministic || request.limits.isEmpty else {
            throw .invalidRequest(
                "limits cannot be set on deterministic tokens: equal values share one token",
                hint: "leave out limits, or make \(kind.rawValue) opaque in the policy's kinds: to limit each token",
                field: .limits
            )
        }

        let keyring = self.keyring
        let now = clock.now()
        let event = AuditEvent(
            at: VaultClock.iso8601(now),
            event: .tokenize,
            kind: kind.rawValue,
            mode: mode.rawValue,
            count: normalized.count,
            subjects: [request.subject],
            outcome: .ok
        ).asked(by: caller)
        let idempotency = request.idempotencyKey.map {
            (
                key: Binding.idempotencyKey(identity: caller.identity.name, key: $0, lookupKey: keyring.lookupKey),
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
            keysAreCurrent: { (k: Keyring) throws(VaultError) -> Bool in try self.activeKEKIsCurrent(k) }
        )
        let lifetime = idempotencyLifetime
        return try await write { store in
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

    /// Subject ids: 1 to 128 characters of A-Z a-z 0-9 . _ : - (docs/PROTOCOL.md). Narrow on purpose: an
    /// identifier, never personal data, and safe to print in logs and audit records.
    static func validateSubject(_ subject: String) throws(VaultError) {
        let ok =
            (1...maxSubjectBytes).contains(subject.utf8.count)
            && subject.utf8.allSatisfy {
                (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) || (0x30...0x39).contains($0)
                    || $0 == 0x2e || $0 == 0x5f || $0 == 0x3a || $0 == 0x2d
            }
        guard ok else {
            throw .invalidRequest(
                "the subject id must be 1 to \(maxSubjectBytes) characters of A-Z a-z 0-9 . _ : -",
                hint: "use your internal customer id, such as cust-42, never personal data",
                field: .subject
            )
        }
    }

    static func validate(_ limits: TokenLimits, now: Int64) throws(VaultError) {
        if let purposes = limits.purposes {
            guard !purposes.isEmpty else {
                throw .invalidRequest(
                    "limits.purposes is empty, so the token could never be revealed",
                    hint: "name at least one purpose, or leave purposes out",
                    field: .limitsPurposes
                )
            }
            for (i, p) in purposes.enumerated() { try validatePurpose(p, field: .limitsPurposes, index: i) }
        }
        if let expires = limits.expiresAt, expires <= now {
            throw .invalidRequest(
                "limits.expires_at is not in the future",
                hint: "send a later time",
                field: .limitsExpiresAt
            )
        }
        if let max = limits.maxReveals, max < 1 {
            throw .invalidRequest(
                "limits.max_reveals must be at least 1",
                hint: "send 1 or more, or leave it out",
                field: .limitsMaxReveals
            )
        }
    }

    /// `field` and `index`: where the purpose stands in the request (a detokenize's own, or one of a token's
    /// limits).
    public static func validatePurpose(
        _ purpose: String,
        field: VaultError.Field = .purpose,
        index: Int? = nil
    ) throws(VaultError) {
        let ok =
            (1...64).contains(purpose.utf8.count)
            && purpose.utf8.allSatisfy {
                (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d
            }
        guard ok else {
            throw .invalidRequest(
                "a purpose must be 1 to 64 characters of a-z, 0-9 and -",
                hint: "use a purpose name from the policy, such as charge or support",
                field: field,
                index: index
            )
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
            Array(request.kind.rawValue.utf8), Array(mode.rawValue.utf8), Array(request.subject.utf8),
            Array(request.scope.utf8),
        ]
        fields.append(Array((request.limits.purposes ?? []).joined(separator: ",").utf8))
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
        subjects: [String]?,
        reason: String
    ) async throws(VaultError) {
        try await appendAudit(
            AuditEvent(
                at: auditTime(),
                event: event,
                kind: kind?.rawValue,
                count: count,
                subjects: subjects,
                outcome: .denied,
                reason: reason
            ).asked(by: caller)
        )
    }
}
