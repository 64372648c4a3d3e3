/// Rows that record what a customer asked of the vault (docs/PRIVACY.md): consent per purpose, restriction of
/// processing, and what retention removed. Like every store row, nothing here is a customer value.

/// A subject's restriction of processing (GDPR Art. 18): while it holds, the vault reveals none of the
/// subject's values except for the policy's `restriction_exempt` purposes.
public struct Restriction: Sendable, Equatable {
    /// Unix seconds.
    public var since: Int64
    /// Why, as the operator or preference centre recorded it (a short label, not customer data).
    public var reason: String

    public init(since: Int64, reason: String) {
        self.since = since
        self.reason = reason
    }
}

/// One consent decision of a subject for one purpose. The store keeps the latest per purpose (the state the
/// gate judges) and every one in order (the history a report shows).
public struct ConsentRecord: Sendable, Equatable {
    public enum State: String, Sendable, Equatable, CaseIterable {
        case granted
        case withdrawn
    }

    public var subjectID: Int64
    public var purpose: Purpose
    public var state: State
    /// Unix seconds: when the decision was recorded.
    public var at: Int64
    /// Where the customer made the choice (`signup-form-v3`, `email-footer`).
    public var source: String
    /// Unix seconds after which a grant no longer counts; nil for a grant without end (and for withdrawals).
    public var expiresAt: Int64?

    public init(subjectID: Int64, purpose: Purpose, state: State, at: Int64, source: String, expiresAt: Int64? = nil) {
        self.subjectID = subjectID
        self.purpose = purpose
        self.state = state
        self.at = at
        self.source = source
        self.expiresAt = expiresAt
    }

    /// Whether this decision lets the subject's values be revealed for its purpose at `now`.
    public func permits(at now: Int64) -> Bool {
        state == .granted && (expiresAt.map { now < $0 } ?? true)
    }
}

/// What one `StoreWriter.purgeTokens` batch removed.
public struct PurgedTokens: Sendable, Equatable {
    /// Token rows deleted.
    public var tokens: Int
    /// Subjects whose last token went, whose data keys were therefore destroyed.
    public var dataKeys: Int
    /// The subjects whose tokens went, by id, each once, ascending: the purge's audit record names them, so
    /// each subject's report shows what retention removed of it.
    public var subjectIDs: [Int64]

    public init(tokens: Int, dataKeys: Int, subjectIDs: [Int64] = []) {
        self.tokens = tokens
        self.dataKeys = dataKeys
        self.subjectIDs = subjectIDs
    }
}
