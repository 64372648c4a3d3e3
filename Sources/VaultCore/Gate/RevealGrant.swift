/// The gate: the one place that decides whether a stored token may be revealed, and how.
///
/// Decrypting a value (`VaultCipher.open`) requires a `RevealGrant`, and a grant can be made only in this
/// file, by `Gate.judge`, after the policy and the token's own limits allowed it. So no code path reaches a
/// plaintext value without passing the gate: the type system enforces the policy.
struct RevealGrant: Sendable {
    let mode: RevealMode
    fileprivate init(mode: RevealMode) { self.mode = mode }
}

enum Gate {
    enum Verdict: Sendable {
        case grant(RevealGrant)
        case deny(reason: String)
        case notFound
    }

    /// Decides one token of a detokenize call. Checked in this order: exists, not expired, the policy grants
    /// this kind for this purpose to one of the caller's roles, the token's own purposes allow the purpose,
    /// and its reveal budget is not used up (re-checked atomically when the reveal is counted).
    static func judge(_ stored: StoredToken?, purpose: String, caller: Caller, policy: Policy, now: Int64) -> Verdict {
        guard let stored else { return .notFound }
        let limits = stored.token.limits
        if let expiry = limits.expiresAt, expiry <= now { return .notFound }
        let decision = policy.detokenizeDecision(identity: caller.identity, kind: stored.token.kind, purpose: purpose)
        guard decision.isAllowed, let mode = decision.reveal else {
            return .deny(reason: "policy grants no reveal of \(stored.token.kind.rawValue) for \(purpose)")
        }
        if let purposes = limits.purposes, !purposes.contains(purpose) {
            return .deny(reason: "the token allows only purposes \(purposes.joined(separator: ","))")
        }
        if let max = limits.maxReveals, stored.token.reveals >= max {
            return .deny(reason: "the token's \(max) reveals are used up")
        }
        return .grant(RevealGrant(mode: mode))
    }
}
