/// The one error type of cvault's domain.
///
/// Every error says what is wrong and what to do about it, and never carries a customer value, a mask of
/// one, a passphrase or key material: messages are built only from public facts (kinds, positions, file
/// paths, versions, counts). Callers match on `code` (and `field`); `message` and `hint` are for people.
///
/// An error is made whole and never changed: `init` for one that is only a code and words, the static
/// factories below for one that carries details (the input at fault, a position, a limit), so every detail
/// an error can carry comes with the others it needs. The domain names inputs in its own words (`Field`);
/// the server maps them to its protocol's codes and field names (`RPCError`), the CLI to its flags where a
/// hint must name one.
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
        /// The database cannot be reached (a lost or refused connection): nothing was revealed, and a write
        /// either committed whole or not at all. The store reconnects by itself; retry.
        case storeUnavailable = "store_unavailable"
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
    /// The details beyond code and words: one case per shape, so no error holds half of one.
    private let detail: Detail

    private enum Detail: Sendable, Equatable {
        case none
        /// The input at fault, and for a list the position in it.
        case field(Field, index: Int?)
        /// A value that broke its kind's rule.
        case value(Kind, index: Int, rule: String)
        /// A limit exceeded (or a count required) by an input.
        case limit(Int, field: Field)
        /// A rate exceeded, and when a retry can succeed.
        case rate(limit: Int, field: Field, retryAfterMilliseconds: Int)
        /// A committed erase whose scrub has not finished.
        case notScrubbed
    }

    private init(_ code: Code, _ message: String, hint: String?, detail: Detail) {
        self.code = code
        self.message = message
        self.hint = hint
        self.detail = detail
    }

    /// An error that is only a code and words.
    public init(_ code: Code, _ message: String, hint: String? = nil) {
        self.init(code, message, hint: hint, detail: .none)
    }

    /// The input at fault (`.values`, `.limitsMaxReveals`, …), for request errors and limits.
    public var field: Field? {
        switch detail {
        case .field(let field, _), .limit(_, let field), .rate(_, let field, _): return field
        case .none, .value, .notScrubbed: return nil
        }
    }

    /// For `.invalidValue` and list fields: the position of the offending item in its batch.
    public var index: Int? {
        switch detail {
        case .field(_, let index): return index
        case .value(_, let index, _): return index
        case .none, .limit, .rate, .notScrubbed: return nil
        }
    }

    /// For `.invalidValue`: the kind whose rules the value broke.
    public var kind: Kind? {
        if case .value(let kind, _, _) = detail { return kind }
        return nil
    }

    /// For `.invalidValue`: the rule broken, without kind or position (they are in their own fields).
    public var reason: String? {
        if case .value(_, _, let rule) = detail { return rule }
        return nil
    }

    /// The limit exceeded, for `.tooLarge` and `.rateLimited`; the count required, where too few were given.
    public var limit: Int? {
        switch detail {
        case .limit(let limit, _), .rate(let limit, _, _): return limit
        case .none, .field, .value, .notScrubbed: return nil
        }
    }

    /// For `.rateLimited`: when a retry can succeed.
    public var retryAfterMilliseconds: Int? {
        if case .rate(_, _, let retry) = detail { return retry }
        return nil
    }

    /// True for the `.storage` error of an erase that committed (the subject is gone and audited) but whose
    /// scrub of old row copies could not finish yet: the caller must not read it as "nothing happened".
    public var isNotScrubbed: Bool { detail == .notScrubbed }

    public var description: String {
        hint.map { "\(message) (\($0))" } ?? message
    }
}

// MARK: Factories for the recurring errors

extension VaultError {
    /// Authentication failed. Deliberately says nothing about which byte or why (like tink's
    /// "decryption failed"): the caller learns only that the data is not what cvault wrote.
    public static let integrityFailure = VaultError(
        .integrity,
        "stored data failed authentication: it was altered, moved to another row, or belongs to another vault",
        hint: "restore the row from a backup; run `cvault verify` to find every affected row"
    )

    /// A value at `index` of its batch broke `kind`'s rule `reason`; nothing of the batch is stored.
    public static func invalidValue(_ kind: Kind, index: Int, _ reason: String) -> VaultError {
        VaultError(
            .invalidValue,
            "\(kind.rawValue) value at index \(index): \(reason)",
            hint: "fix that value and resend the batch; nothing from this batch was stored",
            detail: .value(kind, index: index, rule: reason)
        )
    }

    /// A malformed input (`field`, and for a list the position `index` in it); with no field, a request
    /// that is wrong as a whole.
    public static func invalidRequest(
        _ message: String,
        hint: String? = nil,
        field: Field?,
        index: Int? = nil
    ) -> VaultError {
        VaultError(.invalidRequest, message, hint: hint, detail: field.map { .field($0, index: index) } ?? .none)
    }

    /// `count` items in the list `field`, over `identity`'s limit of `limit` per call.
    public static func tooLarge(count: Int, limit: Int, field: Field, identity: String) -> VaultError {
        VaultError(
            .tooLarge,
            "\(count) \(field.itemNoun) in one call; the limit for \(identity) is \(limit)",
            hint: "split the batch",
            detail: .limit(limit, field: field)
        )
    }

    /// Over the per-minute rate `field` of `limit`; a retry can succeed after `retryAfterMilliseconds`.
    public static func rateLimited(
        _ message: String,
        hint: String,
        field: Field,
        limit: Int,
        retryAfterMilliseconds: Int
    ) -> VaultError {
        VaultError(
            .rateLimited,
            message,
            hint: hint,
            detail: .rate(limit: limit, field: field, retryAfterMilliseconds: retryAfterMilliseconds)
        )
    }

    /// Too few of the input `field` were given: `required` are needed.
    public static func tooFew(
        _ code: Code,
        _ message: String,
        hint: String,
        field: Field,
        required: Int
    ) -> VaultError {
        VaultError(code, message, hint: hint, detail: .limit(required, field: field))
    }

    /// An error about an operator's input (`field`) that is not a request field: the CLI names the flag.
    public static func about(_ field: Field, _ code: Code, _ message: String, hint: String) -> VaultError {
        VaultError(code, message, hint: hint, detail: .field(field, index: nil))
    }

    /// The erase of a subject committed but its scrub could not finish (`isNotScrubbed`).
    static func notScrubbed(_ message: String, hint: String) -> VaultError {
        VaultError(.storage, message, hint: hint, detail: .notScrubbed)
    }
}
