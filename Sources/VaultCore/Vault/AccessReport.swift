import VaultJSON

/// A customer's access report (GDPR Art. 15): what the vault holds of one subject and everything it did
/// with it, read from the store and from the subject's audit records (found by their keyed subject
/// reference, never by reading the log). `Vault.report` builds one inside the write that audits it and issues
/// it as a signed statement (`Statement`, type `access_report`) covering that audit record.
///
/// It never holds a value, a mask or a token. Tokens held are named by a keyed reference of their row
/// (`Binding.tokenReference`): a token string cannot be rebuilt from its row (an opaque token's random part
/// is not stored, and the database keeps only keyed hashes of token strings), and the audit log's `ref:`
/// names cannot be computed from a row either. So disclosures name their token as the audit log does
/// (`ref:`, the name `cvault audit export` shows) and their kind; they are matched to tokens held by kind.
/// Neither kind of reference is stored anywhere: the tokens table must not hold audit references, or the
/// public audit export would link to database rows (docs/AUDIT.md).
public struct AccessReport: Sendable, Equatable {
    public var subject: Subject
    public var status: Status
    public var tokens: [HeldToken]
    /// The latest decision per purpose, by purpose name.
    public var consents: [Consent]
    /// Every consent decision, oldest first.
    public var consentHistory: [Consent]
    public var restriction: Restriction?
    /// Every reveal of the subject's data, and every refusal of one, oldest first.
    public var disclosures: [Disclosure]
    /// Every other audit record that concerns the subject, oldest first (this report's own record last).
    public var events: [Event]
    /// When the subject is erased: its last erase record.
    public var erasure: Event?

    /// Whether the vault holds the subject.
    public enum Status: String, Sendable, Equatable {
        /// The subject row exists (it may hold no values: known by a consent decision, or its last token
        /// went with retention).
        case held
        /// No subject row, and an erase record says why.
        case erased
        /// No subject row and no erase: the vault never held it, or only its audit records name it.
        case unknown
    }

    /// One token held, without the token or its value.
    public struct HeldToken: Sendable, Equatable {
        /// `row:` + hex of a keyed hash of the row id (`Binding.tokenReference`).
        public var reference: String
        public var kind: Kind
        public var tokenType: TokenMode
        /// Unix seconds.
        public var createdAt: Int64
        public var limits: TokenLimits
        /// Reveals counted so far: the vault counts them only for a token with a reveal budget
        /// (`max_reveals`), nil otherwise. Every reveal of every token is in `disclosures`.
        public var reveals: Int?
        /// Unix seconds: the end of the token's retention under the policy the report was made by
        /// (`Retention.end`), from which it is `not_found` and then purged; nil for a kind kept until erased. A
        /// time already past names a token the gate hides and the next purge removes.
        public var retainedUntil: Int64?
    }

    /// One consent decision as the report shows it.
    public struct Consent: Sendable, Equatable {
        public var purpose: Purpose
        /// `granted`, `withdrawn`, or `expired` (a grant past its `expiresAt` at the report's time).
        public var state: String
        /// Unix seconds: when the decision was recorded.
        public var at: Int64
        public var source: String
        public var expiresAt: Int64?
    }

    /// One token of a detokenize (or of an export) that named this subject's row, as its audit record has it.
    public struct Disclosure: Sendable, Equatable {
        public var seq: Int64
        public var at: String
        /// `detokenize` or `subject_export`.
        public var event: AuditEvent.Event
        public var identity: String?
        public var uid: UInt32?
        public var roles: [String]
        public var purpose: String?
        /// The audit log's name of the token: `ref:` + hex in a detokenize, the report's `row:` reference in an
        /// export (which starts from the rows, not from token strings); never the token.
        public var token: String
        public var kind: String?
        /// What it revealed (`plain`, `masked`) or why nothing (`denied`, `not_found`, `no_consent`,
        /// `restricted`, `integrity`, `refused`).
        public var decision: AuditItem.Decision
        /// Why a call was refused whole (a rate), when it was.
        public var reason: String?
    }

    /// One audit record that concerns the subject, other than a detokenize.
    public struct Event: Sendable, Equatable {
        public var seq: Int64
        /// Hex of the record's hash: with `seq`, it names the record in the chain (an erasure receipt names it
        /// too).
        public var hash: String
        public var record: AuditEvent
        /// The record's members as stored (a member a later version added included), for the report's body.
        public var members: [String: JSONValue]
    }
}

extension AccessReport {
    /// Assembles the report from what the store holds for the subject (`row` nil once erased) and the audit
    /// records found under its reference `subjectReference`, in order of `seq`, at `now`.
    init(
        subject: Subject,
        row: SubjectRecord?,
        tokens: [TokenRecord],
        consents: [ConsentRecord],
        history: [ConsentRecord],
        records: [AuditRow],
        subjectReference: String,
        tokenReferenceKey: SecureBytes,
        retention: (Kind) -> Int64?,
        now: Int64
    ) throws(VaultError) {
        self.subject = subject
        self.tokens = tokens.map { token in
            HeldToken(
                reference: Binding.tokenReference(id: token.id, key: tokenReferenceKey),
                kind: token.kind,
                tokenType: token.mode,
                createdAt: token.createdAt,
                limits: token.limits,
                reveals: token.limits.maxReveals == nil ? nil : token.reveals,
                retainedUntil: retention(token.kind).map { Retention.end(createdAt: token.createdAt, retention: $0) }
            )
        }
        self.consents = consents.map { Consent($0, now: now) }
        self.consentHistory = history.map { Consent($0, now: nil) }
        self.restriction = row?.restriction
        disclosures = []
        events = []
        for row in records {
            let (record, members) = try Self.checked(row)
            if record.event != .detokenize {
                events.append(Event(seq: row.seq, hash: Hex.encode(row.hash), record: record, members: members))
            }
            // An export is an event of its own, and each of its items a disclosure.
            if record.event == .detokenize || record.event == .subjectExport {
                disclosures += Self.disclosures(in: record, subjectReference: subjectReference)
            }
        }
        erasure = row == nil ? events.last { $0.record.event == .erase && $0.record.outcome == .ok } : nil
        status = row != nil ? .held : erasure != nil ? .erased : .unknown
    }

    /// The record a stored row holds, and its members as stored, refused unless its hash and seq are its own:
    /// the report names the record by seq and hash, so they must be the ones the chain has for this body.
    static func checked(_ row: AuditRow) throws(VaultError) -> (AuditEvent, [String: JSONValue]) {
        guard AuditChain.hash(prev: row.prev, body: row.body) == row.hash, let record = AuditEvent.decode(row.body),
            record.seq == row.seq, case .object(let members)? = JSONParser.parse(Array(row.body.utf8))
        else {
            throw VaultError(
                .integrity,
                "audit record \(row.seq) does not match its hash",
                hint: "run `cvault audit verify` and investigate before issuing reports"
            )
        }
        return (record, members)
    }

    /// The items of a detokenize or export record that point at this subject's reference; the other items
    /// (other subjects' tokens in the same call, tokens with no row) are not the subject's and stay out.
    static func disclosures(in record: AuditEvent, subjectReference: String) -> [Disclosure] {
        guard let index = (record.subjectRefs ?? []).firstIndex(of: subjectReference) else { return [] }
        return (record.items ?? []).compactMap { item in
            // Tokens are named by references only (`ref:` in a detokenize, `row:` in an export); a token is
            // never shown, even if some record held one as itself.
            guard item.subject == index, item.token.hasPrefix("ref:") || item.token.hasPrefix("row:") else {
                return nil
            }
            return Disclosure(
                seq: record.seq,
                at: record.at,
                event: record.event,
                identity: record.identity,
                uid: record.uid,
                roles: record.roles ?? [],
                purpose: record.purpose,
                token: item.token,
                kind: item.kind,
                decision: item.decision,
                reason: record.outcome == .ok ? nil : record.reason
            )
        }
    }
}

extension AccessReport.Consent {
    /// `now` nil: the decision as recorded (history); else its state at `now` (a grant may have expired).
    init(_ record: ConsentRecord, now: Int64?) {
        let expired = now.map { record.state == .granted && !record.permits(at: $0) } ?? false
        self.init(
            purpose: record.purpose,
            state: expired ? "expired" : record.state.rawValue,
            at: record.at,
            source: record.source,
            expiresAt: record.expiresAt
        )
    }
}

extension Binding {
    /// Label deriving the key of the references that name tokens held in a report.
    static let tokenReferenceKeyLabel = "cvault.report.token.ref.key.v1"

    /// How an access report names a token held: `row:` + hex of keyed BLAKE2b-128 of the row id (8 bytes,
    /// big-endian) under a key derived from the look-up key. Keyed, so a report does not tell how many
    /// tokens the vault issued before or between the subject's; a key of its own, so it equals no look-up
    /// hash and no audit reference (a report cannot be joined to the database or the audit export by it).
    /// Ids are never reused, so the reference is the token's for the vault's life.
    static func tokenReference(id: Int64, key: SecureBytes) -> String {
        var out = Encoder(label: "cvault.report.token.ref.v1", capacity: 12)
        out.field(withUnsafeBytes(of: UInt64(bitPattern: id).bigEndian) { Array($0) })
        return "row:" + Hex.encode(BLAKE2b.hash(out.bytes, key: key, outputLength: 16))
    }
}
