/// The one error type of cvault's domain.
///
/// Every error says what is wrong and what to do about it, and never carries a customer value, a mask of
/// one, a passphrase or key material: messages are built only from public facts (kinds, positions, file
/// paths, versions, counts). Callers match on `code`; `message` and `hint` are for people.
public struct VaultError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// A value failed its kind's validation; `index` is its position in the batch.
        case invalidValue = "invalid_value"
        /// A request or argument is malformed (not a value problem).
        case invalidRequest = "invalid_request"
        /// Ciphertext, wrapped key or keyring failed authentication.
        case integrity
        /// The passphrase or unseal shares do not open the keyring.
        case wrongPassphrase = "wrong_passphrase"
        /// A keyring or database file is readable by group or others, or a folder is unsafe.
        case permissions
        /// `init` found an existing vault.
        case alreadyInitialized = "already_initialized"
        /// No vault at the given folders.
        case notInitialized = "not_initialized"
        /// The keyring file is malformed or inconsistent.
        case keyring
        /// The database failed (I/O, corruption, schema).
        case storage
        /// The policy denied the operation.
        case denied
        /// The caller's uid is not an identity in the policy.
        case unknownIdentity = "unknown_identity"
        /// The vault's keys are not available (keyring not opened, or a key the data needs is retired).
        case sealed
        /// A policy file failed its check.
        case policy
        /// A per-role limit was exceeded.
        case rateLimited = "rate_limited"
        /// A request was larger than allowed.
        case tooLarge = "too_large"
        /// The audit record could not be written or the audit log failed verification.
        case audit
        /// Anything else: a bug or an environment failure.
        case `internal`
    }

    public let code: Code
    /// What is wrong. Never contains a secret or a customer value.
    public let message: String
    /// What to do about it.
    public let hint: String?
    /// For `.invalidValue`: the position of the offending value in its batch.
    public let index: Int?
    /// For `.invalidValue`: the kind whose rules the value broke.
    public var kind: Kind?
    /// The request field at fault (`values`, `limits.max_reveals`, …), for protocol errors.
    public var field: String?
    /// The limit exceeded, for `.tooLarge` and `.rateLimited`.
    public var limit: Int?
    /// For `.rateLimited`: when a retry can succeed.
    public var retryAfterMilliseconds: Int?
    /// For `.invalidValue`: the rule broken, without kind or position (they are in their own fields).
    public var reason: String?

    public init(_ code: Code, _ message: String, hint: String? = nil, index: Int? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.index = index
    }

    /// The same error naming the request field at fault.
    public func with(field: String) -> VaultError {
        var copy = self
        copy.field = field
        return copy
    }

    public var description: String {
        hint.map { "\(message) (\($0))" } ?? message
    }

    /// Authentication failed. Deliberately says nothing about which byte or why (like tink's
    /// "decryption failed"): the caller learns only that the data is not what cvault wrote.
    public static let integrityFailure = VaultError(
        .integrity,
        "stored data failed authentication: it was altered, moved to another row, or belongs to another vault",
        hint: "restore the row from a backup; run `cvault verify` to find every affected row"
    )

    public static func invalidValue(_ kind: Kind, index: Int, _ reason: String) -> VaultError {
        var error = VaultError(
            .invalidValue,
            "\(kind.rawValue) value at index \(index): \(reason)",
            hint: "fix that value and resend the batch; nothing from this batch was stored",
            index: index
        )
        error.kind = kind
        error.reason = reason
        return error
    }
}
