import VaultCore

/// Everything an `InMemoryVaultStore` holds, as one value: copying it is taking a snapshot. It is what a read
/// closure receives, and it conforms only to `StoreReader`, so a read cannot write even through a cast.
struct InMemoryRows: StoreReader, Sendable {
    var subjects: [Int64: SubjectRecord] = [:]
    var subjectIDs: [String: Int64] = [:]
    var tokens: [Int64: TokenRecord] = [:]
    /// Ids of the rows found by lookup, per lookup.
    var byLookup: [[UInt8]: [Int64]] = [:]
    var tombstones: Set<[UInt8]> = []
    /// In order of `seq`.
    var audit: [AuditRow] = []
    /// In order of `seq`.
    var seals: [AuditSeal] = []
    var idempotencyRecords: [[UInt8]: IdempotencyRecord] = [:]
    /// The largest subject id and token id ever committed: ids are never handed out twice.
    var lastSubjectID: Int64 = 0
    var lastTokenID: Int64 = 0
    /// Latest consent decision per subject and purpose name, and every decision in order.
    var consentsBySubject: [Int64: [String: ConsentRecord]] = [:]
    var consentLog: [ConsentRecord] = []
    /// Audit seqs per subject reference, in order (the index `auditRows(concerning:)` reads).
    var auditBySubject: [[UInt8]: [Int64]] = [:]
    /// Rate buckets by key (`StoreWriter.bucket`).
    var buckets: [String: StoredBucket] = [:]
    /// Changes that can make a reveal's read stale: erases, consent decisions, restrictions, purges (what
    /// `readThenWrite` compares).
    var changes: Int64 = 0

    static let closedError = VaultError(.storage, "store is closed")

    func token(id: Int64) throws -> StoredToken? {
        guard let token = tokens[id], token.addressing == .id else { return nil }
        return joined(token)
    }

    func tokens(lookup: [UInt8]) throws -> [StoredToken] {
        (byLookup[lookup] ?? []).compactMap { tokens[$0] }.sorted { $0.subjectID < $1.subjectID }.compactMap(joined)
    }

    func subject(named name: String) throws -> SubjectRecord? { subjectIDs[name].flatMap { subjects[$0] } }

    func stats() throws -> StoreStats {
        StoreStats(
            subjects: subjects.count,
            tokens: tokens.count,
            auditRecords: audit.count,
            dataKeysByKEK: Dictionary(
                subjects.values.filter(\.hasDataKey).map { ($0.kekVersion, 1) },
                uniquingKeysWith: +
            )
        )
    }

    func auditRows(from: Int64, limit: Int) throws -> [AuditRow] {
        Array(audit.filter { $0.seq >= from }.prefix(max(0, limit)))
    }

    func auditSeals() throws -> [AuditSeal] { seals }

    func subjects(notWrappedBy version: Int, after id: Int64, limit: Int) throws -> [SubjectRecord] {
        Array(
            subjects.values.filter { $0.id > id && $0.kekVersion != version && $0.hasDataKey }.sorted { $0.id < $1.id }
                .prefix(
                    max(0, limit)
                )
        )
    }

    func allTokens(after cursor: TokenCursor?, limit: Int) throws -> (tokens: [StoredToken], next: TokenCursor?) {
        let after = cursor?.id ?? 0
        let page = tokens.values.filter { $0.id > after }.sorted { $0.id < $1.id }.prefix(max(0, limit))
            .compactMap(joined)
        let next = page.count == limit && limit > 0 ? page.last.map { TokenCursor(id: $0.token.id) } : nil
        return (page, next)
    }

    func idempotency(keyHash: [UInt8]) throws -> IdempotencyRecord? { idempotencyRecords[keyHash] }

    func subjectExists(id: Int64) throws -> Bool { subjects[id] != nil }

    func subject(id: Int64) throws -> SubjectRecord? { subjects[id] }

    func consent(subjectID: Int64, purpose: Purpose) throws -> ConsentRecord? {
        consentsBySubject[subjectID]?[purpose.name]
    }

    func consents(subjectID: Int64) throws -> [ConsentRecord] {
        (consentsBySubject[subjectID] ?? [:]).values.sorted { $0.purpose.name < $1.purpose.name }
    }

    func consentHistory(subjectID: Int64) throws -> [ConsentRecord] {
        consentLog.filter { $0.subjectID == subjectID }
    }

    func tokens(subjectID: Int64) throws -> [TokenRecord] {
        tokens.values.filter { $0.subjectID == subjectID }.sorted { $0.id < $1.id }
    }

    func auditRows(concerning subjectRef: [UInt8], after seq: Int64, limit: Int) throws -> [AuditRow] {
        let seqs = Set((auditBySubject[subjectRef] ?? []).filter { $0 > seq })
        return Array(audit.filter { seqs.contains($0.seq) }.prefix(max(0, limit)))
    }

    func auditRecord(_ seq: Int64, isIndexedUnder subjectRef: [UInt8]) throws -> Bool {
        auditBySubject[subjectRef]?.contains(seq) ?? false
    }

    func countTokens(kind: Kind, createdBefore cutoff: Int64) throws -> Int {
        tokens.values.filter { $0.kind == kind && $0.createdAt < cutoff }.count
    }

    private func joined(_ token: TokenRecord) -> StoredToken? {
        subjects[token.subjectID].map { StoredToken(token: token, subject: $0) }
    }
}

/// One write's view: a copy of the committed rows that it changes; the store keeps the copy only if the write's
/// closure returned.
final class InMemoryTransaction: StoreWriter, @unchecked Sendable {
    // @unchecked: used only on the store's writer queue, by one write at a time.
    var rows: InMemoryRows
    /// The last token id handed out in this transaction.
    private var reservedTokenID: Int64

    init(rows: InMemoryRows) {
        self.rows = rows
        reservedTokenID = rows.lastTokenID
    }

    // MARK: Reading: the transaction's own rows, its changes included

    func token(id: Int64) throws -> StoredToken? { try rows.token(id: id) }
    func tokens(lookup: [UInt8]) throws -> [StoredToken] { try rows.tokens(lookup: lookup) }
    func subject(named name: String) throws -> SubjectRecord? { try rows.subject(named: name) }
    func stats() throws -> StoreStats { try rows.stats() }
    func auditRows(from: Int64, limit: Int) throws -> [AuditRow] { try rows.auditRows(from: from, limit: limit) }
    func auditSeals() throws -> [AuditSeal] { try rows.auditSeals() }
    func subjects(notWrappedBy version: Int, after id: Int64, limit: Int) throws -> [SubjectRecord] {
        try rows.subjects(notWrappedBy: version, after: id, limit: limit)
    }
    func allTokens(after cursor: TokenCursor?, limit: Int) throws -> (tokens: [StoredToken], next: TokenCursor?) {
        try rows.allTokens(after: cursor, limit: limit)
    }
    func idempotency(keyHash: [UInt8]) throws -> IdempotencyRecord? { try rows.idempotency(keyHash: keyHash) }
    func subjectExists(id: Int64) throws -> Bool { try rows.subjectExists(id: id) }
    func subject(id: Int64) throws -> SubjectRecord? { try rows.subject(id: id) }
    func consent(subjectID: Int64, purpose: Purpose) throws -> ConsentRecord? {
        try rows.consent(subjectID: subjectID, purpose: purpose)
    }
    func consents(subjectID: Int64) throws -> [ConsentRecord] { try rows.consents(subjectID: subjectID) }
    func consentHistory(subjectID: Int64) throws -> [ConsentRecord] { try rows.consentHistory(subjectID: subjectID) }
    func tokens(subjectID: Int64) throws -> [TokenRecord] { try rows.tokens(subjectID: subjectID) }
    func auditRows(concerning subjectRef: [UInt8], after seq: Int64, limit: Int) throws -> [AuditRow] {
        try rows.auditRows(concerning: subjectRef, after: seq, limit: limit)
    }
    func auditRecord(_ seq: Int64, isIndexedUnder subjectRef: [UInt8]) throws -> Bool {
        try rows.auditRecord(seq, isIndexedUnder: subjectRef)
    }
    func countTokens(kind: Kind, createdBefore cutoff: Int64) throws -> Int {
        try rows.countTokens(kind: kind, createdBefore: cutoff)
    }

    // MARK: Writing

    func insertSubject(name: String, kekVersion: Int, dekVersion: Int, wrappedKey: [UInt8]) throws -> Int64 {
        guard rows.subjectIDs[name] == nil else { throw Self.refused("a subject with this name already exists") }
        rows.lastSubjectID += 1
        let id = rows.lastSubjectID
        rows.subjects[id] = SubjectRecord(
            id: id,
            name: name,
            kekVersion: kekVersion,
            dekVersion: dekVersion,
            wrappedKey: wrappedKey
        )
        rows.subjectIDs[name] = id
        return id
    }

    /// A subject erased meanwhile is left alone, as in every store: there is nothing to rewrap.
    func updateWrappedKey(subjectID: Int64, kekVersion: Int, wrappedKey: [UInt8]) throws {
        guard var subject = rows.subjects[subjectID] else { return }
        subject.kekVersion = kekVersion
        subject.wrappedKey = wrappedKey
        rows.subjects[subjectID] = subject
    }

    func tokenExists(lookup: [UInt8]) throws -> Bool {
        !(rows.byLookup[lookup] ?? []).isEmpty || rows.tombstones.contains(lookup)
    }

    func nextTokenID() throws -> Int64 {
        reservedTokenID = max(reservedTokenID, rows.lastTokenID) + 1
        return reservedTokenID
    }

    func insertToken(_ record: TokenRecord) throws {
        guard rows.subjects[record.subjectID] != nil else { throw Self.refused("a token's subject does not exist") }
        guard rows.tokens[record.id] == nil, record.id > 0 else { throw Self.refused("a token id is taken") }
        if record.addressing == .lookup {
            let taken = (rows.byLookup[record.lookup] ?? []).contains { rows.tokens[$0]?.subjectID == record.subjectID }
            guard !taken else { throw Self.refused("the subject already has a token with this lookup") }
            if record.mode == .formatPreserving, rows.tombstones.contains(record.lookup) {
                throw VaultError(
                    .internal,
                    "a format-preserving token of an erased subject was about to be issued again"
                )
            }
            rows.byLookup[record.lookup, default: []].append(record.id)
        }
        rows.tokens[record.id] = record
        rows.lastTokenID = max(rows.lastTokenID, record.id)
    }

    func claimReveal(tokenID: Int64) throws -> Bool {
        guard var token = rows.tokens[tokenID] else { return false }
        if let limit = token.limits.maxReveals, token.reveals >= limit { return false }
        token.reveals += 1
        rows.tokens[tokenID] = token
        return true
    }

    func eraseSubject(named name: String) throws -> Int {
        guard let id = rows.subjectIDs[name] else { return 0 }
        let erased = rows.tokens.values.filter { $0.subjectID == id }
        for token in erased {
            rows.tokens[token.id] = nil
            guard token.addressing == .lookup else { continue }
            rows.byLookup[token.lookup]?.removeAll { $0 == token.id }
            if rows.byLookup[token.lookup]?.isEmpty == true { rows.byLookup[token.lookup] = nil }
            if token.mode == .formatPreserving { rows.tombstones.insert(token.lookup) }
        }
        rows.idempotencyRecords = rows.idempotencyRecords.filter { $0.value.subjectID != id }
        rows.consentsBySubject[id] = nil
        rows.consentLog.removeAll { $0.subjectID == id }
        rows.subjects[id] = nil
        rows.subjectIDs[name] = nil
        rows.changes += 1
        return erased.count
    }

    func auditHead() throws -> AuditRow? { rows.audit.last }

    /// A record whose `seq` is taken is refused, so the chain cannot fork.
    func appendAudit(_ row: AuditRow) throws {
        if let last = rows.audit.last, row.seq <= last.seq {
            guard !rows.audit.contains(where: { $0.seq == row.seq }) else {
                throw Self.refused("an audit seq is taken")
            }
            rows.audit.append(row)
            rows.audit.sort { $0.seq < $1.seq }
        } else {
            rows.audit.append(row)
        }
        for subjectRef in Set(row.subjectRefs) {
            rows.auditBySubject[subjectRef, default: []].append(row.seq)
        }
    }

    func lastAuditSeal() throws -> AuditSeal? { rows.seals.last }

    func appendAuditSeal(_ seal: AuditSeal) throws {
        if let last = rows.seals.last, seal.seq <= last.seq {
            guard !rows.seals.contains(where: { $0.seq == seal.seq }) else { throw Self.refused("a seal seq is taken") }
            rows.seals.append(seal)
            rows.seals.sort { $0.seq < $1.seq }
        } else {
            rows.seals.append(seal)
        }
    }

    func putIdempotency(_ record: IdempotencyRecord) throws {
        guard rows.subjects[record.subjectID] != nil else {
            throw Self.refused("an idempotency record's subject does not exist")
        }
        rows.idempotencyRecords[record.keyHash] = record
    }

    func purgeIdempotency(createdBefore cutoff: Int64, limit: Int) throws -> Int {
        let expired = rows.idempotencyRecords.values.filter { $0.createdAt < cutoff }.sorted {
            $0.createdAt < $1.createdAt
        }
        .prefix(max(0, limit))
        for record in expired { rows.idempotencyRecords[record.keyHash] = nil }
        return expired.count
    }

    func insertSubjectWithoutKey(name: String) throws -> Int64 {
        try insertSubject(name: name, kekVersion: 0, dekVersion: 0, wrappedKey: [])
    }

    func replaceDataKey(subjectID: Int64, kekVersion: Int, dekVersion: Int, wrappedKey: [UInt8]) throws {
        guard var subject = rows.subjects[subjectID], !subject.hasDataKey else {
            throw VaultError(.internal, "a subject that already has a data key was about to get another")
        }
        subject.kekVersion = kekVersion
        subject.dekVersion = dekVersion
        subject.wrappedKey = wrappedKey
        rows.subjects[subjectID] = subject
    }

    func recordConsent(_ record: ConsentRecord) throws {
        guard rows.subjects[record.subjectID] != nil else { throw Self.refused("a consent's subject does not exist") }
        rows.consentsBySubject[record.subjectID, default: [:]][record.purpose.name] = record
        rows.consentLog.append(record)
        rows.changes += 1
    }

    func setRestriction(subjectID: Int64, _ restriction: Restriction?) throws {
        guard var subject = rows.subjects[subjectID] else { return }
        subject.restriction = restriction
        rows.subjects[subjectID] = subject
        rows.changes += 1
    }

    func purgeTokens(kind: Kind, createdBefore cutoff: Int64, limit: Int) throws -> PurgedTokens {
        let expired = rows.tokens.values.filter { $0.kind == kind && $0.createdAt < cutoff }
            .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }.prefix(max(0, limit))
        guard !expired.isEmpty else { return PurgedTokens(tokens: 0, dataKeys: 0) }
        for token in expired {
            rows.tokens[token.id] = nil
            guard token.addressing == .lookup else { continue }
            rows.byLookup[token.lookup]?.removeAll { $0 == token.id }
            if rows.byLookup[token.lookup]?.isEmpty == true { rows.byLookup[token.lookup] = nil }
            if token.mode == .formatPreserving { rows.tombstones.insert(token.lookup) }
        }
        var dataKeys = 0
        let subjectIDs = Set(expired.map(\.subjectID)).sorted()
        for subjectID in subjectIDs where !rows.tokens.values.contains(where: { $0.subjectID == subjectID }) {
            rows.idempotencyRecords = rows.idempotencyRecords.filter { $0.value.subjectID != subjectID }
            rows.subjects[subjectID]?.wrappedKey = []
            dataKeys += 1
        }
        rows.changes += 1
        return PurgedTokens(tokens: expired.count, dataKeys: dataKeys, subjectIDs: subjectIDs)
    }

    func renewToken(id: Int64, createdAt: Int64) throws {
        rows.tokens[id]?.createdAt = createdAt
    }

    func bucket(_ key: String) throws -> StoredBucket? { rows.buckets[key] }

    func putBucket(_ key: String, _ bucket: StoredBucket) throws { rows.buckets[key] = bucket }

    /// A constraint the rows would break, as SQLite reports its own: `.storage`, naming no value.
    private static func refused(_ what: String) -> VaultError { VaultError(.storage, "refused: \(what)") }
}
