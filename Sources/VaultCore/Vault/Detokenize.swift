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
    /// The purpose needs the customer's consent (the policy's `consent_required`) and the subject holds no
    /// current grant for it (docs/PRIVACY.md).
    case noConsent = "no_consent"
    /// The subject has restricted processing, and the purpose is not one the policy exempts.
    case restricted
}

extension Vault {
    /// The longest string looked up as a token; anything longer cannot be one of ours.
    static let maxTokenBytes = 512

    /// Turns tokens back into values or masks, through the gate. The audit record of every decision is durable
    /// before this returns, and if it cannot be written nothing is revealed. The steps are `DetokenizeCall`'s.
    public func detokenize(
        _ tokens: [String],
        purpose: Purpose,
        caller: Caller
    ) async throws(VaultError) -> [RevealItem] {
        try await keys.withCurrentKeys { keyring in
            try await self.detokenize(tokens, purpose: purpose, caller: caller, keyring: keyring)
        }
    }

    /// One attempt of `detokenize` with `keyring` (`KeyringHolder.withCurrentKeys`).
    private func detokenize(
        _ tokens: [String],
        purpose: Purpose,
        caller: Caller,
        keyring: Keyring
    ) async throws -> [RevealItem] {
        // A reveal needs a trustworthy audit log: on a chain rewritten under this process, fail closed.
        try auditSealer.requireIntact()
        let policy = self.policy
        let limits = policy.limits(for: caller.identity)
        guard !tokens.isEmpty else {
            throw VaultError(.invalidRequest, "no tokens to detokenize", hint: "send at least one token")
        }
        let itemLimit = limits.maxBatch
        guard tokens.count <= itemLimit else {
            throw VaultError.tooLarge(
                count: tokens.count,
                limit: itemLimit,
                field: .tokens,
                identity: caller.identity.name
            )
        }
        // Where each token's row is: keyed hashes only, so worked out before the store is involved (and spread
        // over the cores for a large call).
        let addresses = Parallel.map(tokens) { DetokenizeCall.Address(token: $0, keyring: keyring) }
        let call = detokenizeCall(addresses, purpose: purpose, caller: caller, policy: policy, keyring: keyring)
        // The store picks where the look-ups run (see `VaultStore.readThenWrite`); `record` re-checks what can
        // change in between: the reveal budgets, by claiming them in the write, and the rows, still there.
        let answered = try await readThenWriteUnmapped(items: tokens.count, read: call.lookUp, write: call.record)
        // A refused call is audited as refused (durably, by now), and reveals nothing.
        return try answered.get()
    }
}

extension Vault {
    /// A detokenize call of `addresses` under `policy` at the vault's time, with the vault's budgets: the one
    /// gate, for a detokenize and for a subject's export (`export`).
    func detokenizeCall(
        _ addresses: [DetokenizeCall.Address],
        purpose: Purpose,
        caller: Caller,
        policy: Policy,
        keyring: Keyring,
        export: Subject? = nil
    ) -> DetokenizeCall {
        DetokenizeCall(
            addresses: addresses,
            purpose: purpose,
            caller: caller,
            policy: policy,
            limits: policy.limits(for: caller.identity),
            keyring: keyring,
            now: clock.now(),
            budgets: budgets,
            sealer: auditSealer,
            export: export
        )
    }
}

extension DetokenizeCall {
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
}
