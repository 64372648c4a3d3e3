/// The audit log's words. Each raw value is exactly what records on disk hold (docs/AUDIT.md): chains hash
/// them and seals sign them, so a raw value never changes; a new word is a new case.
extension AuditEvent {
    /// What a record is about.
    public enum Event: String, Codable, Sendable, CaseIterable {
        case tokenize
        case detokenize
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
    /// What one token of a detokenize got.
    public enum Decision: String, Codable, Sendable, CaseIterable {
        /// The value itself was revealed.
        case plain
        /// Only its mask was revealed.
        case masked
        /// The policy or the token's own limits did not allow it.
        case denied
        /// Unknown, erased or expired.
        case notFound = "not_found"
        /// The stored row failed authentication.
        case integrity
        /// The whole call was refused by a rate: nothing was revealed.
        case refused

        /// The decision for a revealed value.
        public init(_ mode: RevealMode) {
            switch mode {
            case .plain: self = .plain
            case .masked: self = .masked
            }
        }

        /// The decision for an item that was not revealed.
        public init(_ failure: RevealFailure) {
            switch failure {
            case .denied: self = .denied
            case .notFound: self = .notFound
            case .integrity: self = .integrity
            }
        }
    }
}
