/// The record of processing activities (GDPR Art. 30), built from the policy the vault enforces:
/// `cvault policy register`.
///
/// It is derived, never written by hand: every line comes from the same `Policy` value the gate decides
/// with, so a privacy notice built from it cannot drift from what the vault does. It lists, per kind, who may
/// tokenize it, who may reveal it for which purposes and how (with the effective mode: where two rules of a
/// role grant the same purpose, the most revealing one, as the gate decides), which of those purposes need
/// the subject's consent or are exempt from restriction, how long tokens are kept, and what the token
/// itself gives away; then who may erase, record consent, restrict and report.
public struct ProcessingRegister: Sendable, Equatable {
    /// Purposes that need the subject's current consent grant, sorted.
    public let consentRequired: [Purpose]
    /// Purposes a restricted subject may still be revealed for, sorted.
    public let restrictionExempt: [Purpose]
    /// Every kind the policy names anywhere (token modes, tokenize, detokenize, retention), in `Kind`'s order.
    public let kinds: [KindEntry]
    /// The roles holding each yes/no permission, in file order.
    public let erase: [Holder]
    public let consent: [Holder]
    public let restrict: [Holder]
    public let report: [Holder]

    /// A role and the identities that hold it (file order; empty when none does).
    public struct Holder: Sendable, Equatable {
        public let role: String
        public let identities: [String]
    }

    /// What the policy does with one kind.
    public struct KindEntry: Sendable, Equatable {
        public let kind: Kind
        public let tokenMode: TokenMode
        /// `TokenMode.disclosure(for:)`: what holding the token gives away.
        public let tokenDisclosure: String
        /// Seconds, or nil when tokens are kept until erased.
        public let retentionSeconds: Int64?
        public let tokenizedBy: [Holder]
        /// Per role (file order), plain before masked.
        public let revealedTo: [Reveal]
    }

    /// A role that may reveal a kind in one mode, and for which purposes.
    public struct Reveal: Sendable, Equatable {
        public let holder: Holder
        public let mode: RevealMode
        /// Sorted.
        public let purposes: [Purpose]
        /// The subsets of `purposes` that need consent and that are exempt from restriction.
        public let consentRequired: [Purpose]
        public let restrictionExempt: [Purpose]
    }

    public init(policy: Policy) {
        // Roles in file order (their line), so the register reads like the file.
        let roles = policy.roles.values.sorted { ($0.line, $0.name) < ($1.line, $1.name) }
        func holder(_ role: Policy.Role) -> Holder {
            Holder(role: role.name, identities: policy.identities.filter { $0.roles.contains(role.name) }.map(\.name))
        }

        var named = Set(policy.kinds.keys).union(policy.retention.keys)
        for role in roles {
            named.formUnion(role.tokenize)
            for rule in role.detokenize { named.formUnion(rule.kinds) }
        }

        kinds = Kind.allCases.filter(named.contains).map { kind in
            var reveals: [Reveal] = []
            for role in roles {
                // The effective mode per purpose: the most revealing of this role's rules, as the gate decides.
                var modes: [Purpose: RevealMode] = [:]
                for rule in role.detokenize where rule.kinds.contains(kind) {
                    for purpose in rule.purposes { modes[purpose] = max(modes[purpose] ?? rule.reveal, rule.reveal) }
                }
                for mode in [RevealMode.plain, .masked] {
                    let purposes = modes.filter { $0.value == mode }.keys.sorted()
                    guard !purposes.isEmpty else { continue }
                    reveals.append(
                        Reveal(
                            holder: holder(role),
                            mode: mode,
                            purposes: purposes,
                            consentRequired: purposes.filter(policy.needsConsent),
                            restrictionExempt: purposes.filter(policy.isRestrictionExempt)
                        )
                    )
                }
            }
            let mode = policy.tokenMode(for: kind)
            return KindEntry(
                kind: kind,
                tokenMode: mode,
                tokenDisclosure: mode.disclosure(for: kind),
                retentionSeconds: policy.retention(for: kind),
                tokenizedBy: roles.filter { $0.tokenize.contains(kind) }.map(holder),
                revealedTo: reveals
            )
        }
        consentRequired = policy.consentRequired.sorted()
        restrictionExempt = policy.restrictionExempt.sorted()
        erase = roles.filter(\.erase).map(holder)
        consent = roles.filter(\.consent).map(holder)
        restrict = roles.filter(\.restrict).map(holder)
        report = roles.filter(\.report).map(holder)
    }
}
