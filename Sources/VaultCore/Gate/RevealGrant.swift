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

    /// Decides one token of a detokenize call. Checked in this order: exists, not expired, not past its kind's
    /// retention (`Retention`: `not_found` from that second on, before any purge removes the row), the policy
    /// grants this kind for this purpose to one of the caller's roles, the token's own purposes allow the
    /// purpose, and its reveal budget is not used up (re-checked atomically when the reveal is counted).
    /// The policy's decisions for this call's caller and purpose are remembered per kind (`DecisionCache`): a
    /// call of many tokens asks the policy once per kind instead of once per token.
    static func judge(_ stored: StoredToken?, purpose: Purpose, decisions: DecisionCache, now: Int64) -> Verdict {
        guard let stored, isLive(stored, decisions: decisions, now: now) else { return .notFound }
        let limits = stored.token.limits
        let decision = decisions.decision(for: stored.token.kind)
        guard decision.isAllowed, let mode = decision.reveal else { return .deny }
        if let purposes = limits.purposes, !purposes.contains(purpose) { return .deny }
        if let max = limits.maxReveals, stored.token.reveals >= max { return .deny }
        return .grant(RevealGrant(mode: mode))
    }
}

extension Gate {
    /// Whether the row still exists for a reveal: neither past its own expiry nor past its kind's retention.
    /// A deterministic token shared by several subjects is answered from the first live row.
    static func isLive(_ stored: StoredToken, decisions: DecisionCache, now: Int64) -> Bool {
        if let expiry = stored.token.limits.expiresAt, expiry <= now { return false }
        if let retention = decisions.retention(for: stored.token.kind),
            Retention.isPast(createdAt: stored.token.createdAt, retention: retention, now: now)
        {
            return false
        }
        return true
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
    /// Whether the policy keeps any kind for a limited time.
    private let retains: Bool

    init(policy: Policy, caller: Caller, purpose: Purpose, plainOnly: Bool = false) {
        self.policy = policy
        self.caller = caller
        self.purpose = purpose
        retains = !policy.retention.isEmpty
        self.plainOnly = plainOnly
    }

    /// The kind's retention in seconds (`Policy.retention(for:)`), nil for a kind kept until erased: one
    /// dictionary look-up, no store access, and none at all under a policy without `retention:`.
    func retention(for kind: Kind) -> Int64? { retains ? policy.retention(for: kind) : nil }

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
