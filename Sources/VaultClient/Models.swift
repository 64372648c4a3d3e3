import VaultJSON

extension VaultClient {
    /// A kind of personal value (docs/PROTOCOL.md §7.1). A struct rather than an enum so a client keeps working
    /// with a server that knows more kinds: `Kind(rawValue: "iban")` is sent as is, and the server decides.
    public struct Kind: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { rawValue = value }
        public var description: String { rawValue }

        public static let email = Kind(rawValue: "email")
        public static let phone = Kind(rawValue: "phone")
        public static let card = Kind(rawValue: "card")
        public static let ssn = Kind(rawValue: "ssn")
        public static let name = Kind(rawValue: "name")
        public static let address = Kind(rawValue: "address")
        public static let date = Kind(rawValue: "date")
        public static let text = Kind(rawValue: "text")
    }

    /// Limits fixed on tokens at birth (docs/PROTOCOL.md §6.1): they bind the tokens whatever the policy later says.
    public struct TokenLimits: Sendable, Equatable {
        /// The only purposes the tokens may ever be revealed for.
        public var purposes: [String]?
        /// From this instant (Unix seconds, UTC) on, the tokens are `not_found`. Sent as `YYYY-MM-DDTHH:MM:SSZ`.
        public var expiresAt: Int64?
        /// The most reveals each token allows.
        public var maxReveals: Int?

        public init(purposes: [String]? = nil, expiresAt: Int64? = nil, maxReveals: Int? = nil) {
            self.purposes = purposes
            self.expiresAt = expiresAt
            self.maxReveals = maxReveals
        }

        public var isEmpty: Bool { purposes == nil && expiresAt == nil && maxReveals == nil }

        /// The `limits` object, members in name order.
        func write(into json: inout JSONWriter) {
            json.beginObject()
            json.memberIfPresent("expires_at", expiresAt.map(Self.timestamp))
            json.memberIfPresent("max_reveals", maxReveals)
            json.memberIfPresent("purposes", purposes)
            json.endObject()
        }

        /// Unix seconds as RFC 3339 UTC with whole seconds, `YYYY-MM-DDTHH:MM:SSZ` (the protocol's timestamp).
        public static func timestamp(_ seconds: Int64) -> String { RFC3339.format(seconds) }
    }

    /// One answer of `detokenize`, in the order of the tokens asked for.
    public enum DetokenizeItem: Sendable, Equatable {
        /// The value or its mask; `reveal` is `"plain"` or `"masked"` (see `Reveal`).
        case value(String, reveal: String)
        /// Not revealed: `"not_found"`, `"denied"`, `"integrity"`, `"restricted"` or `"no_consent"` (see
        /// `RevealError`); a newer server may send other names.
        case error(String)

        public var value: String? { if case .value(let v, _) = self { return v } else { return nil } }
        public var reveal: String? { if case .value(_, let r) = self { return r } else { return nil } }
        public var error: String? { if case .error(let e) = self { return e } else { return nil } }
    }

    /// The reveal names of `DetokenizeItem.value`.
    public enum Reveal {
        public static let plain = "plain"
        public static let masked = "masked"
    }

    /// The error names of `DetokenizeItem.error`.
    public enum RevealError {
        public static let notFound = "not_found"
        public static let denied = "denied"
        public static let integrity = "integrity"
        /// The subject's processing is restricted and the purpose is not exempt.
        public static let restricted = "restricted"
        /// The purpose needs the subject's consent and it holds no current grant.
        public static let noConsent = "no_consent"
    }

    /// The answer of `whoami`.
    public struct Identity: Sendable, Equatable {
        public let name: String
        public let roles: [String]
        public init(name: String, roles: [String]) {
            self.name = name
            self.roles = roles
        }
    }

    /// The answer of `health`.
    public struct Health: Sendable, Equatable {
        /// `"ok"`, `"sealed"` when the vault's keys are not loaded, or `"degraded"` when the audit log is broken.
        public let status: String
        public let version: String
        /// The key-encryption key new data keys are wrapped with; nil when sealed.
        public let activeKEK: Int?
        /// `"ok"`, or `"broken"` when the audit log no longer extends the head the vault sealed (detokenize then
        /// fails until an operator acts); nil from a server too old to say.
        public let audit: String?
        public init(status: String, version: String, activeKEK: Int?, audit: String? = nil) {
            self.status = status
            self.version = version
            self.activeKEK = activeKEK
            self.audit = audit
        }
    }
}
