import VaultJSON

/// The answers of the consent and restriction methods (docs/PROTOCOL.md §6.7 to §6.11). Times are as the
/// protocol sends them: `YYYY-MM-DDTHH:MM:SSZ`.
extension VaultClient {
    /// Which purposes `withdrawConsent` withdraws.
    public enum WithdrawnPurposes: Sendable, Equatable {
        /// Every purpose at once (`"*"`): the deregister button.
        case all
        case listed([String])
    }

    /// The answer of `grantConsent`.
    public struct ConsentGranted: Sendable, Equatable {
        /// The purposes granted, each once, in name order.
        public var granted: [String]
        /// Those the server's policy does not require consent for (recorded all the same; maybe a typo).
        public var notRequired: [String]
        public init(granted: [String], notRequired: [String]) {
            (self.granted, self.notRequired) = (granted, notRequired)
        }
    }

    /// The answer of `consentList`: the state per purpose and every decision.
    public struct ConsentState: Sendable, Equatable {
        /// One purpose's state now.
        public struct Current: Sendable, Equatable {
            public var purpose: String
            /// `"granted"`, `"withdrawn"` or `"expired"`.
            public var state: String
            /// When the decision was recorded (for an expired grant: when it expired).
            public var since: String
            public var source: String
            public var expiresAt: String?
            /// Whether the server's policy requires consent for the purpose.
            public var required: Bool
            public init(
                purpose: String,
                state: String,
                since: String,
                source: String,
                expiresAt: String?,
                required: Bool
            ) {
                (self.purpose, self.state, self.since, self.source) = (purpose, state, since, source)
                (self.expiresAt, self.required) = (expiresAt, required)
            }
        }

        /// One decision of the history.
        public struct Decision: Sendable, Equatable {
            public var purpose: String
            /// `"granted"` or `"withdrawn"`.
            public var state: String
            public var at: String
            public var source: String
            public var expiresAt: String?
            public init(purpose: String, state: String, at: String, source: String, expiresAt: String?) {
                (self.purpose, self.state, self.at, self.source, self.expiresAt) = (
                    purpose, state, at, source, expiresAt
                )
            }
        }

        /// In purpose name order.
        public var current: [Current]
        /// Oldest first.
        public var history: [Decision]
        public init(current: [Current], history: [Decision]) { (self.current, self.history) = (current, history) }
    }

    /// The answer of `restrict`: the restriction in force (for a subject already restricted, its first one).
    public struct Restriction: Sendable, Equatable {
        public var since: String
        public var reason: String
        public init(since: String, reason: String) { (self.since, self.reason) = (since, reason) }
    }
}
