/// The audit log's words. Each raw value is exactly what records on disk hold (docs/AUDIT.md): chains hash
/// them and seals sign them, so a raw value never changes; a new word is a new case.
extension AuditEvent {
    /// What a record is about.
    public enum Event: String, Codable, Sendable, CaseIterable {
        /// Values of one kind tokenized for one subject (or refused by the policy).
        case tokenize
        /// Tokens revealed, one item per token with its decision.
        case detokenize
        /// A subject crypto-shredded: its data key and tokens destroyed.
        case erase
        /// A policy loaded (at server start, on SIGHUP, for an offline command) or refused.
        case policyLoad = "policy_load"
        /// A vault made: the keys it starts with.
        case `init`
        /// A new KEK made active.
        case keyRotate = "key_rotate"
        /// A new token key made active for deterministic tokens.
        case keyRotateToken = "key_rotate_token"
        /// Data keys moved to the active KEK.
        case keyRewrap = "key_rewrap"
        /// An old KEK retired.
        case keyRetire = "key_retire"
        /// The keyring re-sealed under a new passphrase.
        case keyPassphrase = "key_passphrase"
        /// Connections from uids that are not identities, counted per uid.
        case connect
        /// A backup restored (outcome `rollback` when it rolled the vault back).
        case restore
        /// An operator accepted a broken audit log as it is.
        case auditAccept = "audit_accept"
        /// A customer's consent granted for purposes (docs/PRIVACY.md).
        case consentGrant = "consent_grant"
        /// A customer's consent withdrawn for purposes (or for all: the deregister button).
        case consentWithdraw = "consent_withdraw"
        /// A subject's processing restricted (GDPR Art. 18).
        case subjectRestrict = "subject_restrict"
        /// A subject's restriction lifted.
        case subjectUnrestrict = "subject_unrestrict"
        /// A subject's access report issued (Art. 15).
        case subjectReport = "subject_report"
        /// A subject's values exported to it (Art. 20).
        case subjectExport = "subject_export"
        /// Tokens past their kind's retention removed, one record per batch with counts.
        case purge
    }

    /// How it ended; `reason` says why when it did not simply succeed.
    public enum Outcome: String, Codable, Sendable, CaseIterable {
        case ok
        /// A key operation begins (its `ok` record follows when it is done).
        case started
        /// The policy did not allow it.
        case denied
        /// Refused whole (a rate, a miss budget, a policy that fails its check, a KEK still in use).
        case refused
        /// A restore that rolled the vault back, with the operator's consent.
        case rollback
    }
}

extension AuditItem {
    /// What one token of a detokenize got: what it revealed, why it revealed nothing, or that the call was
    /// refused whole. Its words are `RevealMode`'s and `RevealFailure`'s raw values, and `refused`.
    public enum Decision: Sendable, Equatable {
        /// The value or its mask.
        case revealed(RevealMode)
        /// Denied, not found, failed authentication, no consent, or restricted.
        case notRevealed(RevealFailure)
        /// The whole call was refused by a rate: nothing was revealed.
        case refused

        public static let plain = Decision.revealed(.plain)
        public static let masked = Decision.revealed(.masked)
        public static let denied = Decision.notRevealed(.denied)
        public static let notFound = Decision.notRevealed(.notFound)
        public static let integrity = Decision.notRevealed(.integrity)
        public static let noConsent = Decision.notRevealed(.noConsent)
        public static let restricted = Decision.notRevealed(.restricted)
    }
}

extension AuditItem.Decision: RawRepresentable, Codable {
    public init?(rawValue: String) {
        if rawValue == "refused" {
            self = .refused
        } else if let mode = RevealMode(rawValue: rawValue) {
            self = .revealed(mode)
        } else if let failure = RevealFailure(rawValue: rawValue) {
            self = .notRevealed(failure)
        } else {
            return nil
        }
    }

    public var rawValue: String {
        switch self {
        case .revealed(let mode): return mode.rawValue
        case .notRevealed(let failure): return failure.rawValue
        case .refused: return "refused"
        }
    }
}
