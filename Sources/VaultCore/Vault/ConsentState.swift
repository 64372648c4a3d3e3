/// What a subject has said about each purpose, as `Vault.consentState` answers it (docs/PRIVACY.md).

/// Which purposes a withdrawal covers.
public enum ConsentPurposes: Sendable, Equatable {
    /// Every purpose at once (the deregister button): each the subject ever decided on, and each the policy
    /// requires consent for, so nothing the subject could be revealed for on consent stays granted.
    case all
    /// These purposes (at least one).
    case listed([Purpose])
}

/// The answer to `Vault.grantConsent`.
public struct ConsentGranted: Sendable, Equatable {
    /// The purposes granted, each once, in name order.
    public var granted: [Purpose]
    /// Those of `granted` that the current policy does not require consent for: recorded all the same (the
    /// policy may require it later), but a name here may be a typo of one that is required.
    public var notRequired: [Purpose]
}

/// A subject's consent: the current state per purpose it ever decided on, and every decision in order.
public struct ConsentState: Sendable, Equatable {
    /// One purpose's current state.
    public struct Current: Sendable, Equatable {
        public enum State: String, Sendable, Equatable, CaseIterable {
            /// Granted, and not past its expiry: reveals for the purpose may succeed.
            case granted
            /// Withdrawn by the subject.
            case withdrawn
            /// Granted, but its `expires_at` has passed: counts as no grant.
            case expired
        }

        public var purpose: Purpose
        public var state: State
        /// Unix seconds: when the decision was recorded, or for an expired grant when it expired.
        public var since: Int64
        /// Where the decision in force was made.
        public var source: String
        /// A grant's end, when it has one.
        public var expiresAt: Int64?
        /// Whether the policy in force requires consent for the purpose.
        public var required: Bool
    }

    /// In purpose name order.
    public var current: [Current]
    /// Every decision, oldest first.
    public var history: [ConsentRecord]

    /// The state as of `now` under `policy`, from the store's latest decision per purpose and its history.
    init(latest: [ConsentRecord], history: [ConsentRecord], policy: Policy, now: Int64) {
        current = latest.sorted { $0.purpose < $1.purpose }.map { record in
            let expired = record.state == .granted && !record.permits(at: now)
            return Current(
                purpose: record.purpose,
                state: expired ? .expired : record.state == .granted ? .granted : .withdrawn,
                since: expired ? (record.expiresAt ?? record.at) : record.at,
                source: record.source,
                expiresAt: record.expiresAt,
                required: policy.needsConsent(record.purpose)
            )
        }
        self.history = history
    }
}
