import Foundation

/// One audit record's content. Encoded as canonical JSON (sorted keys, no whitespace) into the chain.
///
/// What an event may hold is fixed by this type: identities, roles, kinds, purposes, counts, subject ids,
/// decisions, token references and public key facts. There is no field for a value, a mask or a key, and
/// tokens are recorded only as a keyed reference (`AuditItem`).
public struct AuditEvent: Codable, Sendable, Equatable {
    public var seq: Int64 = 0
    /// ISO 8601 UTC.
    public var at: String
    public var event: Event
    public var identity: String?
    public var uid: UInt32?
    public var roles: [String]?
    public var kind: String?
    public var mode: String?
    public var count: Int?
    public var subjects: [String]?
    /// The keyed references (`Binding.subjectReference`) of every subject the record concerns, each once, in
    /// order of first mention; items point into it (`AuditItem.subject`). The store indexes the record under
    /// each, so a subject's report finds its records without reading the log. In the body, so the chain
    /// covers it: deleting an index row cannot hide a disclosure without the chain showing it.
    public var subjectRefs: [String]?
    /// Several purposes (a consent decision names each it covers).
    public var purposes: [String]?
    public var purpose: String?
    public var items: [AuditItem]?
    /// With `reason` saying why, when it did not simply succeed.
    public var outcome: Outcome
    public var reason: String?
    /// Public facts about the operation (a policy's hash, a key version).
    public var detail: String?
    /// What an erase or a retention purge removed, per kind (by the kind's name): the counts a subject's report
    /// and a regulator read after the rows are gone.
    public var perKind: [String: AuditKindTally]?
    /// An erase: the version of the data key it destroyed (absent when the subject held none).
    public var dekVersion: Int?

    public init(
        at: String,
        event: Event,
        identity: String? = nil,
        uid: UInt32? = nil,
        roles: [String]? = nil,
        kind: String? = nil,
        mode: String? = nil,
        count: Int? = nil,
        subjects: [String]? = nil,
        subjectRefs: [String]? = nil,
        purposes: [String]? = nil,
        purpose: String? = nil,
        items: [AuditItem]? = nil,
        outcome: Outcome,
        reason: String? = nil,
        detail: String? = nil,
        perKind: [String: AuditKindTally]? = nil,
        dekVersion: Int? = nil
    ) {
        self.at = at
        self.event = event
        self.identity = identity
        self.uid = uid
        self.roles = roles
        self.kind = kind
        self.mode = mode
        self.count = count
        self.subjects = subjects
        self.subjectRefs = subjectRefs
        self.purposes = purposes
        self.purpose = purpose
        self.items = items
        self.outcome = outcome
        self.reason = reason
        self.detail = detail
        self.perKind = perKind
        self.dekVersion = dekVersion
    }

    enum CodingKeys: String, CodingKey {
        case seq, at, event, identity, uid, roles, kind, mode, count, subjects, purposes, purpose, items, outcome
        case reason, detail
        case subjectRefs = "subject_refs"
        case perKind = "per_kind"
        case dekVersion = "dek_version"
    }

    /// The index keys of `subjectRefs` (`AuditRow.subjectRefs`); a malformed one is left out.
    var subjectRefBytes: [[UInt8]] {
        (subjectRefs ?? []).compactMap(Binding.subjectReferenceBytes)
    }

    static func decode(_ body: String) -> AuditEvent? {
        try? JSONDecoder().decode(AuditEvent.self, from: Data(body.utf8))
    }
}

/// What an erase or a retention purge removed of one kind, as its audit record holds it (`per_kind`).
public struct AuditKindTally: Codable, Sendable, Equatable {
    /// Token rows deleted.
    public var tokens: Int
    /// A purge: data keys destroyed because a subject's last token went with this kind's rows.
    public var dataKeys: Int?
    /// A purge: the kind's cutoff (ISO 8601 UTC): the tokens created before it were past the kind's retention.
    public var cutoff: String?

    public init(tokens: Int, dataKeys: Int? = nil, cutoff: String? = nil) {
        self.tokens = tokens
        self.dataKeys = dataKeys
        self.cutoff = cutoff
    }

    enum CodingKeys: String, CodingKey {
        case tokens, cutoff
        case dataKeys = "data_keys"
    }
}

/// One token of a detokenize, as audited.
public struct AuditItem: Codable, Sendable, Equatable {
    /// `ref:` + hex of the token's keyed audit reference (`Binding.auditReference`), for every token: an
    /// opaque token is a bearer capability, a deterministic one links equal values, a format-preserving one
    /// keeps a card's last four digits, and a caller may send a raw value by mistake. Records written before
    /// this rule hold opaque tokens as themselves; the chain keeps them as written.
    public var token: String
    public var kind: String?
    public var decision: Decision
    /// Which of the record's `subjectRefs` the token's row belongs to (an index into it); nil when no row
    /// was found, and in records written before subjects were referenced.
    public var subject: Int?

    public init(token: String, kind: String? = nil, decision: Decision, subject: Int? = nil) {
        self.token = token
        self.kind = kind
        self.decision = decision
        self.subject = subject
    }
}

extension AuditEvent {
    /// A record of `caller`'s `event` at `now` (Unix seconds): who (name, uid, roles) and when; the caller
    /// fills in what the operation adds.
    init(_ event: Event, by caller: Caller, at now: Int64, outcome: Outcome = .ok) {
        self.init(
            at: VaultClock.iso8601(now),
            event: event,
            identity: caller.identity.name,
            uid: caller.uid,
            roles: caller.identity.roles,
            outcome: outcome
        )
    }
}

extension AuditEvent {
    /// Names `subject` as one the record concerns: by its id in `subjects` (as records always have) and by its
    /// keyed reference in `subjectRefs`, under which the store indexes the record. Returns the reference's
    /// index, for items.
    @discardableResult
    mutating func concern(_ subject: Subject, keyring: Keyring) -> Int {
        if !(subjects ?? []).contains(subject.name) { subjects = (subjects ?? []) + [subject.name] }
        return refer(to: keyring.subjectReference(subject))
    }

    /// Adds `reference` to `subjectRefs` if it is not there yet; returns its index. For records that must not
    /// name the subject in clear (a detokenize names tokens only by references).
    @discardableResult
    mutating func refer(to reference: String) -> Int {
        if let index = subjectRefs?.firstIndex(of: reference) { return index }
        // Taken out first, so the append grows the one buffer instead of copying it.
        var refs = subjectRefs.take() ?? []
        refs.append(reference)
        subjectRefs = refs
        return refs.count - 1
    }
}
