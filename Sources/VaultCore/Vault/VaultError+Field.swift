extension VaultError {
    /// The input an error is about, in the domain's words: a field of a tokenize or detokenize request, a
    /// role's limit in the policy, or an operator's input to a key, rewrap or restore operation.
    ///
    /// No case names a protocol field or a command-line flag: the server maps request fields to their names
    /// on the wire (`RPCError`), the CLI maps operator inputs to its flags (`Report.swift`).
    public enum Field: Sendable, Equatable {
        // A tokenize request.
        /// The values to tokenize.
        case values
        /// The subject id the values belong to (or the one to erase).
        case subject
        /// The scope deterministic tokens are made in.
        case scope
        /// The token limits as a whole.
        case limits
        /// The purposes a token may be revealed for.
        case limitsPurposes
        /// When a token stops being revealable.
        case limitsExpiresAt
        /// How often a token may be revealed.
        case limitsMaxReveals
        /// The key that makes a retried tokenize answer what the first call did.
        case idempotencyKey
        // A detokenize request.
        /// The tokens to reveal.
        case tokens
        /// The purpose declared for a reveal.
        case purpose
        // A consent decision or a restriction (docs/PRIVACY.md).
        /// The purposes a consent decision covers.
        case purposes
        /// Where the customer made the choice.
        case consentSource
        /// When a consent grant stops counting.
        case consentExpiresAt
        /// Why a subject's processing is restricted.
        case restrictionReason
        // A role's limits in the policy.
        /// Unknown tokens an identity may send per minute.
        case missesPerMinute
        /// Values an identity may have revealed per minute.
        case revealsPerMinute
        // An operator's inputs.
        /// Where the vault's files are (its keys and data folders).
        case vaultFiles
        /// The passphrase that opens the keyring.
        case passphrase
        /// The unseal shares that open a keyring sealed by shares.
        case unsealShares
        /// How many shares to make, and how many open the keyring.
        case shares
        /// How many data keys a rewrap moves per transaction.
        case rewrapBatch
        /// The operator's consent to a restore that rolls the vault back.
        case allowRollback

        /// How a message counts items of a list field.
        var itemNoun: String {
            switch self {
            case .values: return "values"
            case .tokens: return "tokens"
            default: return "items"
            }
        }
    }
}
