import VaultCore

/// One row of a query result as a backend's cursor reads it; the shared decoders (`StoredRows`) read rows
/// through it, so each row shape is decoded in one place for every backend.
public protocol StoreRow {
    func int64(_ column: Int32) throws -> Int64
    func int(_ column: Int32) throws -> Int
    func optionalInt64(_ column: Int32) throws -> Int64?
    func bytes(_ column: Int32) throws -> [UInt8]
    func text(_ column: Int32) throws -> String
    func optionalText(_ column: Int32) throws -> String?
    /// A yes/no column (SQLite keeps it as the integer 1 or 0, PostgreSQL as a boolean).
    func flag(_ column: Int32) throws -> Bool
}

/// The store's row shapes, engine-neutral: the column lists every backend selects and the one decoder of each.
/// Every backend's schema has these tables and columns under these names (docs/DESIGN.md, "The store
/// contract"), so the text of a SELECT list is the same for all.
public enum StoredRows {
    /// A token row joined with its subject, without its WHERE clause; `storedToken` reads these columns.
    public static let storedTokenSelect = """
        SELECT t.id, t.addressed, t.lookup, t.subject_id, t.kind, t.mode, t.sealed, t.purposes, t.expires_at,
               t.max_reveals, t.reveals, t.created_at, s.name, s.kek_version, s.dek_version, s.wrapped_key,
               s.restricted_at, s.restriction_reason
        FROM tokens t JOIN subjects s ON s.id = t.subject_id
        """

    /// The columns `subject` reads, in its order.
    public static let subjectColumns =
        "id, name, kek_version, dek_version, wrapped_key, restricted_at, restriction_reason"

    /// The columns `consent` reads, in its order.
    public static let consentColumns = "subject_id, purpose, state, at, source, expires_at"

    /// The columns `auditRow` reads; and `auditSeal`'s.
    public static let auditColumns = "seq, prev, hash, body"
    public static let auditSealColumns = "seq, hash, signature, at"

    @inlinable
    public static func subject(_ row: some StoreRow) throws -> SubjectRecord {
        SubjectRecord(
            id: try row.int64(0),
            name: try row.text(1),
            kekVersion: try row.int(2),
            dekVersion: try row.int(3),
            wrappedKey: try row.bytes(4),
            restriction: try restriction(row, at: 5)
        )
    }

    /// `restricted_at` and `restriction_reason` at `column` and the next.
    @inlinable
    public static func restriction(_ row: some StoreRow, at column: Int32) throws -> Restriction? {
        guard let since = try row.optionalInt64(column) else { return nil }
        return Restriction(since: since, reason: try row.optionalText(column + 1) ?? "")
    }

    @inlinable
    public static func storedToken(_ row: some StoreRow) throws -> StoredToken {
        guard let kind = Kind(rawValue: try row.text(4)), let mode = TokenMode(rawValue: try row.text(5)) else {
            throw unknownKindOrMode
        }
        let limits = TokenLimits(
            purposes: try decodePurposes(try row.optionalText(7)),
            expiresAt: try row.optionalInt64(8),
            maxReveals: try row.optionalInt64(9).map { Int(truncatingIfNeeded: $0) }
        )
        let token = TokenRecord(
            id: try row.int64(0),
            addressing: try row.flag(1) ? .id : .lookup,
            lookup: try row.bytes(2),
            subjectID: try row.int64(3),
            kind: kind,
            mode: mode,
            sealed: try row.bytes(6),
            limits: limits,
            reveals: try row.int(10),
            createdAt: try row.int64(11)
        )
        let subject = SubjectRecord(
            id: try row.int64(3),
            name: try row.text(12),
            kekVersion: try row.int(13),
            dekVersion: try row.int(14),
            wrappedKey: try row.bytes(15),
            restriction: try restriction(row, at: 16)
        )
        return StoredToken(token: token, subject: subject)
    }

    @inlinable
    public static func consent(_ row: some StoreRow) throws -> ConsentRecord {
        guard let purpose = try? Purpose(try row.text(1)), let state = ConsentRecord.State(rawValue: try row.text(2))
        else { throw alteredConsent }
        return ConsentRecord(
            subjectID: try row.int64(0),
            purpose: purpose,
            state: state,
            at: try row.int64(3),
            source: try row.text(4),
            expiresAt: try row.optionalInt64(5)
        )
    }

    @inlinable
    public static func auditRow(_ row: some StoreRow) throws -> AuditRow {
        AuditRow(seq: try row.int64(0), prev: try row.bytes(1), hash: try row.bytes(2), body: try row.text(3))
    }

    @inlinable
    public static func auditSeal(_ row: some StoreRow) throws -> AuditSeal {
        AuditSeal(seq: try row.int64(0), hash: try row.bytes(1), signature: try row.bytes(2), at: try row.int64(3))
    }

    /// Purposes as a comma-separated list: a `Purpose` never holds a comma, so the list reads back the same.
    /// NULL means no restriction, the empty string no purpose at all.
    public static func encodePurposes(_ purposes: [Purpose]?) -> String? {
        purposes?.map(\.name).joined(separator: ",")
    }

    /// Through `Purpose` like any other way in; a stored name that breaks its rule was never written by cvault.
    public static func decodePurposes(_ text: String?) throws -> [Purpose]? {
        guard let text else { return nil }
        if text.isEmpty { return [] }
        do {
            return try text.split(separator: ",", omittingEmptySubsequences: false).map { try Purpose(String($0)) }
        } catch {
            throw VaultError(
                .storage,
                "a token row holds a purpose name that is not one",
                hint: "the database was altered; run `cvault verify`"
            )
        }
    }

    /// Where `StoreReader.allTokens` goes on after `page`: a full page may be followed by more; a short one is
    /// the end.
    public static func cursor(after page: [StoredToken], limit: Int) -> TokenCursor? {
        page.count == limit && limit > 0 ? page.last.map { TokenCursor(id: $0.token.id) } : nil
    }

    @usableFromInline
    static let unknownKindOrMode = VaultError(
        .storage,
        "a token row has an unknown kind or token mode",
        hint: "the database was written by a newer cvault or was altered; run `cvault verify`"
    )

    @usableFromInline
    static let alteredConsent = VaultError(
        .storage,
        "a consent row holds a purpose or state that is not one",
        hint: "the database was altered; run `cvault verify`"
    )
}
