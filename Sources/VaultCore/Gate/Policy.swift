/// Who may do what: the parsed form of a policy file (docs/POLICY.md describes the language).
///
/// A `Policy` is a checked value. The only ways to get one are `Policy.denyAll` and the loaders
/// (`Policy.parse(yaml:file:)`, `Policy.load(path:)`), which refuse a file with any problem, so every
/// identity's roles exist, uids and names are unique, and every name is well formed. Nothing is granted by
/// default: an identity, kind or purpose that no rule names is denied.
public struct Policy: Sendable, Equatable {
    /// The token mode of each kind the file names; the others use `.opaque`.
    public let kinds: [Kind: TokenMode]
    /// In file order.
    public let identities: [Identity]
    /// By role name.
    public let roles: [String: Role]
    /// Purposes for which a reveal (plain or masked) needs the subject's current consent grant, whatever
    /// the caller's role (`consent_required:`). Each is used by some detokenize rule.
    public let consentRequired: Set<Purpose>
    /// Purposes a restricted subject (GDPR Art. 18) may still be revealed for, such as `legal-hold`
    /// (`restriction_exempt:`). Each is used by some detokenize rule and none needs consent.
    public let restrictionExempt: Set<Purpose>
    /// How long a token of each kind is kept, in seconds (`retention:`); a kind not listed is kept until
    /// erased. Each figure is from 1 second to `Policy.maxRetentionSeconds`.
    public let retention: [Kind: Int64]

    // Indexes built once, because the gate looks an identity up on every request.
    private let identityByUID: [UInt32: Int]
    private let identityByName: [String: Int]

    /// Internal: only the parser (which has checked every invariant above) and tests build policies.
    init(
        kinds: [Kind: TokenMode],
        identities: [Identity],
        roles: [String: Role],
        consentRequired: Set<Purpose> = [],
        restrictionExempt: Set<Purpose> = [],
        retention: [Kind: Int64] = [:]
    ) {
        self.kinds = kinds
        self.identities = identities
        self.roles = roles
        self.consentRequired = consentRequired
        self.restrictionExempt = restrictionExempt
        self.retention = retention
        var byUID: [UInt32: Int] = [:]
        var byName: [String: Int] = [:]
        for (index, identity) in identities.enumerated() {
            // The parser rejects duplicates; keeping the first here means a duplicate could never take
            // over an earlier identity's grants even if one slipped through.
            if byUID[identity.uid] == nil { byUID[identity.uid] = index }
            if byName[identity.name] == nil { byName[identity.name] = index }
        }
        identityByUID = byUID
        identityByName = byName
    }

    /// The empty policy: no identities, no roles, every request denied, every kind opaque. What a server
    /// holds before its first policy loads.
    public static let denyAll = Policy(kinds: [:], identities: [], roles: [:])

    /// The longest retention a policy may set, in days: 100 years of 365 days. Longer is no storage limit
    /// (GDPR Art. 5(1)(e)) and most likely a slip of the unit; a kind kept until erased is simply left out
    /// of `retention:`.
    public static let maxRetentionDays: Int64 = 36_500
    /// `maxRetentionDays` in seconds.
    public static let maxRetentionSeconds: Int64 = maxRetentionDays * 86_400

    /// The token mode for `kind`: the file's choice, or `.opaque` (which says nothing about the value).
    public func tokenMode(for kind: Kind) -> TokenMode {
        kinds[kind] ?? .opaque
    }

    /// Whether a reveal for `purpose` needs the subject's current consent grant. The grant itself is per
    /// subject and is checked by the vault at reveal time; the policy only says which purposes need one.
    public func needsConsent(_ purpose: Purpose) -> Bool {
        consentRequired.contains(purpose)
    }

    /// Whether a subject under restriction may still be revealed for `purpose`.
    public func isRestrictionExempt(_ purpose: Purpose) -> Bool {
        restrictionExempt.contains(purpose)
    }

    /// How long tokens of `kind` are kept, in seconds, or nil when they are kept until erased.
    public func retention(for kind: Kind) -> Int64? {
        retention[kind]
    }

    /// The identity whose socket peer uid is `uid`, if any.
    public func identity(uid: UInt32) -> Identity? {
        identityByUID[uid].map { identities[$0] }
    }

    /// The identity called `name`, if any.
    public func identity(named name: String) -> Identity? {
        identityByName[name].map { identities[$0] }
    }
}

extension Policy {
    /// A caller, recognised by the uid of its socket peer (never by anything it claims in a request).
    public struct Identity: Sendable, Hashable {
        public let name: String
        public let uid: UInt32
        /// Role names, in file order; each names a role of the same policy.
        public let roles: [String]
        /// Where the identity is defined in the file (1-based; 0 when not from a file).
        public let line: Int
    }

    /// A set of grants. Identities get the union of their roles' grants.
    public struct Role: Sendable, Equatable {
        public let name: String
        /// Kinds this role may tokenize.
        public let tokenize: Set<Kind>
        /// Detokenize rules, in file order.
        public let detokenize: [DetokenizeRule]
        /// Whether this role may erase a subject.
        public let erase: Bool
        /// Whether this role may record a subject's consent grants and withdrawals (a preference centre).
        public let consent: Bool
        /// Whether this role may restrict and unrestrict a subject (GDPR Art. 18).
        public let restrict: Bool
        /// Whether this role may produce a subject's access report (GDPR Art. 15).
        public let report: Bool
        /// The role's limits, with defaults filled in for keys the file leaves out.
        public let limits: RoleLimits
        /// Lines of the role and of its `tokenize`, `erase`, `limits`, `consent`, `restrict` and `report`
        /// keys (0 when absent), so a decision can point at the line that made it.
        public let line: Int
        public let tokenizeLine: Int
        public let eraseLine: Int
        public let limitsLine: Int
        public let consentLine: Int
        public let restrictLine: Int
        public let reportLine: Int

        /// Internal: only the parser and tests build roles. The permissions added after `erase` default to
        /// not granted.
        init(
            name: String,
            tokenize: Set<Kind>,
            detokenize: [DetokenizeRule],
            erase: Bool,
            limits: RoleLimits,
            line: Int,
            tokenizeLine: Int,
            eraseLine: Int,
            limitsLine: Int,
            consent: Bool = false,
            restrict: Bool = false,
            report: Bool = false,
            consentLine: Int = 0,
            restrictLine: Int = 0,
            reportLine: Int = 0
        ) {
            self.name = name
            self.tokenize = tokenize
            self.detokenize = detokenize
            self.erase = erase
            self.limits = limits
            self.line = line
            self.tokenizeLine = tokenizeLine
            self.eraseLine = eraseLine
            self.limitsLine = limitsLine
            self.consent = consent
            self.restrict = restrict
            self.report = report
            self.consentLine = consentLine
            self.restrictLine = restrictLine
            self.reportLine = reportLine
        }
    }

    /// One entry of a role's `detokenize` list: these kinds, for these purposes, revealed this way.
    public struct DetokenizeRule: Sendable, Equatable {
        public let kinds: Set<Kind>
        public let purposes: Set<Purpose>
        public let reveal: RevealMode
        /// Position in the role's list (for `roles.NAME.detokenize[INDEX]`) and line in the file.
        public let index: Int
        public let line: Int
    }
}
