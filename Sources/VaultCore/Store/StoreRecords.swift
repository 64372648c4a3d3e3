/// Rows as the domain sees them. Everything here is either public (ids, versions, counts, times) or
/// ciphertext: a store never receives a customer value or a key in the clear.

/// A data subject (the customer values belong to) and its wrapped data key.
public struct SubjectRecord: Sendable, Equatable {
    /// The store's id for the subject (bound into every ciphertext's associated data).
    public var id: Int64
    /// The caller's subject id, e.g. `cust-42`. An identifier, not personal data.
    public var name: String
    /// The KEK version that wraps `wrappedKey`.
    public var kekVersion: Int
    /// The data key's own version, bound into its values' associated data.
    public var dekVersion: Int
    /// `nonce || ciphertext || tag` of the 32-byte data key; empty when the subject has no data key (it holds
    /// no values: it was known first by a consent decision, or retention removed its last token).
    public var wrappedKey: [UInt8]
    /// Set while the subject's processing is restricted (`Vault.restrict`).
    public var restriction: Restriction?

    public init(
        id: Int64,
        name: String,
        kekVersion: Int,
        dekVersion: Int,
        wrappedKey: [UInt8],
        restriction: Restriction? = nil
    ) {
        self.id = id
        self.name = name
        self.kekVersion = kekVersion
        self.dekVersion = dekVersion
        self.wrappedKey = wrappedKey
        self.restriction = restriction
    }

    /// Whether the subject has a data key (and may therefore have values).
    public var hasDataKey: Bool { !wrappedKey.isEmpty }
}

/// Limits a token carries from birth, whatever the policy later says.
public struct TokenLimits: Sendable, Equatable, Codable {
    /// The only purposes it may ever be revealed for; nil means any the policy grants.
    public var purposes: [Purpose]?
    /// Unix seconds after which it is treated as not found.
    public var expiresAt: Int64?
    /// The most reveals it allows, counted atomically.
    public var maxReveals: Int?

    public init(purposes: [Purpose]? = nil, expiresAt: Int64? = nil, maxReveals: Int? = nil) {
        self.purposes = purposes
        self.expiresAt = expiresAt
        self.maxReveals = maxReveals
    }

    public static let none = TokenLimits()
    public var isEmpty: Bool { purposes == nil && expiresAt == nil && maxReveals == nil }
}

/// How a token finds its row.
public enum TokenAddressing: Sendable, Equatable {
    /// The token carries the row's id (opaque tokens made since schema 2: `TokenFormat.opaque(id:key:)`).
    case id
    /// By `lookup` (deterministic and format-preserving tokens, whose strings cannot carry an id, and opaque
    /// tokens made before schema 2).
    case lookup
}

/// A token's row. `lookup` is a keyed hash of the token string, so finding a row needs no decryption and
/// the database holds no token strings.
public struct TokenRecord: Sendable, Equatable {
    /// The row's id: reserved with `StoreWriter.nextTokenID()` before the token is made, never reused.
    public var id: Int64
    public var addressing: TokenAddressing
    public var lookup: [UInt8]
    public var subjectID: Int64
    public var kind: Kind
    public var mode: TokenMode
    /// `nonce || ciphertext || tag` of the normalized value under the subject's data key.
    public var sealed: [UInt8]
    public var limits: TokenLimits
    /// Reveals so far (counted only for tokens with `maxReveals`).
    public var reveals: Int
    /// Unix seconds.
    public var createdAt: Int64

    public init(
        id: Int64,
        addressing: TokenAddressing,
        lookup: [UInt8],
        subjectID: Int64,
        kind: Kind,
        mode: TokenMode,
        sealed: [UInt8],
        limits: TokenLimits = .none,
        reveals: Int = 0,
        createdAt: Int64
    ) {
        self.id = id
        self.addressing = addressing
        self.lookup = lookup
        self.subjectID = subjectID
        self.kind = kind
        self.mode = mode
        self.sealed = sealed
        self.limits = limits
        self.reveals = reveals
        self.createdAt = createdAt
    }
}

/// A token row joined with its subject: everything detokenize needs, found in one look-up.
public struct StoredToken: Sendable, Equatable {
    public var token: TokenRecord
    public var subject: SubjectRecord
    public init(token: TokenRecord, subject: SubjectRecord) {
        self.token = token
        self.subject = subject
    }
}

/// Where a page of `StoreReader.allTokens` stopped: the id of the last token returned.
public struct TokenCursor: Sendable, Equatable {
    public var id: Int64
    public init(id: Int64) { self.id = id }
}

/// One record of the audit chain as stored: `hash = BLAKE2b(prev || body)`.
public struct AuditRow: Sendable, Equatable {
    public var seq: Int64
    public var prev: [UInt8]
    public var hash: [UInt8]
    /// Canonical JSON of the event. Never holds a value, a mask or key material.
    public var body: String
    /// The keyed references (`Binding.subjectReference`) of the subjects the record concerns, as its body
    /// names them (`subject_refs`): the store indexes the record under each, so a subject's records are found
    /// without reading the log (`StoreReader.auditRows(concerning:after:limit:)`). Not stored beside the body
    /// as a second truth: the body, which the chain hashes, is what they come from.
    public var subjectRefs: [[UInt8]]
    public init(seq: Int64, prev: [UInt8], hash: [UInt8], body: String, subjectRefs: [[UInt8]] = []) {
        self.seq = seq
        self.prev = prev
        self.hash = hash
        self.body = body
        self.subjectRefs = subjectRefs
    }
}

/// An Ed25519 signature over the chain head at `seq`.
public struct AuditSeal: Sendable, Equatable {
    public var seq: Int64
    public var hash: [UInt8]
    public var signature: [UInt8]
    /// Unix seconds.
    public var at: Int64
    public init(seq: Int64, hash: [UInt8], signature: [UInt8], at: Int64) {
        self.seq = seq
        self.hash = hash
        self.signature = signature
        self.at = at
    }
}

/// The stored answer to an idempotent tokenize. It belongs to the subject the call was for and goes with it
/// (erase), and nothing in it can be checked against a guessed value without the keyring.
public struct IdempotencyRecord: Sendable, Equatable {
    /// Keyed BLAKE2b of the caller's identity and idempotency key (`Binding.idempotencyKey`).
    public var keyHash: [UInt8]
    /// The subject the call tokenized for: erasing it deletes this record.
    public var subjectID: Int64
    /// Keyed BLAKE2b of the whole request, values included (`Binding.requestMAC`): a reused key with other
    /// parameters is caught, and a copy of the database alone cannot test a guessed value against it.
    public var requestMAC: [UInt8]
    /// `nonce || ciphertext || tag` of the tokens under the subject's data key (`Binding.idempotentAnswer`):
    /// format-preserving tokens keep a card's last digits, and erasing the subject shreds them.
    public var sealedResponse: [UInt8]
    /// Unix seconds; the record is void once older than the vault's idempotency lifetime.
    public var createdAt: Int64
    public init(keyHash: [UInt8], subjectID: Int64, requestMAC: [UInt8], sealedResponse: [UInt8], createdAt: Int64) {
        self.keyHash = keyHash
        self.subjectID = subjectID
        self.requestMAC = requestMAC
        self.sealedResponse = sealedResponse
        self.createdAt = createdAt
    }
}

/// What the write of `VaultStore.readThenWrite` is told about subjects changed since its read.
public enum ReadSnapshot: Sendable, Equatable {
    /// No subject can have changed between the read and the write: the read ran inside the write's own
    /// transaction, or the store saw that no erase, consent decision, restriction or retention purge committed
    /// in between.
    case current
    /// Subjects may have changed since the read: rows it found may be gone, and a subject's consent or
    /// restriction may no longer be what the read saw.
    case changedSince
}

/// Counts for `cvault status` and `keys list`.
public struct StoreStats: Sendable, Equatable {
    public var subjects: Int
    public var tokens: Int
    public var auditRecords: Int
    /// Number of data keys each KEK version wraps.
    public var dataKeysByKEK: [Int: Int]
    public init(subjects: Int, tokens: Int, auditRecords: Int, dataKeysByKEK: [Int: Int]) {
        self.subjects = subjects
        self.tokens = tokens
        self.auditRecords = auditRecords
        self.dataKeysByKEK = dataKeysByKEK
    }
}
