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
        /// Refused by the policy or by the token's own limits. Which one is not said: the caller's answer and
        /// the audit record both read `denied`.
        case deny
        case notFound
    }

    /// Decides one token of a detokenize call. Checked in this order: exists, not expired, the policy grants
    /// this kind for this purpose to one of the caller's roles, the token's own purposes allow the purpose,
    /// and its reveal budget is not used up (re-checked atomically when the reveal is counted).
    /// The policy's decisions for this call's caller and purpose are remembered per kind (`DecisionCache`): a
    /// call of many tokens asks the policy once per kind instead of once per token.
    static func judge(_ stored: StoredToken?, purpose: Purpose, decisions: DecisionCache, now: Int64) -> Verdict {
        guard let stored else { return .notFound }
        let limits = stored.token.limits
        if let expiry = limits.expiresAt, expiry <= now { return .notFound }
        let decision = decisions.decision(for: stored.token.kind)
        guard decision.isAllowed, let mode = decision.reveal else { return .deny }
        if let purposes = limits.purposes, !purposes.contains(purpose) { return .deny }
        if let max = limits.maxReveals, stored.token.reveals >= max { return .deny }
        return .grant(RevealGrant(mode: mode))
    }
}

/// The policy's detokenize decisions for one call (one caller, one purpose, one policy), asked once per kind.
/// Lives inside one call on one thread.
final class DecisionCache {
    private let policy: Policy
    private let caller: Caller
    private let purpose: Purpose
    /// A subject's export (`Vault.export`) hands out values, never masks: a kind granted only masked for the
    /// purpose is denied.
    private let plainOnly: Bool
    private var known: [Kind: PolicyDecision] = [:]

    init(policy: Policy, caller: Caller, purpose: Purpose, plainOnly: Bool = false) {
        self.policy = policy
        self.caller = caller
        self.purpose = purpose
        self.plainOnly = plainOnly
    }

    func decision(for kind: Kind) -> PolicyDecision {
        if let cached = known[kind] { return cached }
        var decision = policy.detokenizeDecision(identity: caller.identity, kind: kind, purpose: purpose)
        if plainOnly, decision.isAllowed, decision.reveal != .plain {
            decision = .denied("\(kind.rawValue) is granted only masked for purpose \(purpose): an export needs plain")
        }
        known[kind] = decision
        return decision
    }
}
