/// One column's value in a raw row copied from one store to another (`cvault migrate`): the few types
/// cvault's tables use, engine-neutral.
public enum MigrationValue: Sendable, Equatable {
    case int(Int64)
    case bytes([UInt8])
    case text(String)
    case null
}

/// A table `cvault migrate` copies row by row, with its columns in the order both stores list them, and the
/// order rows are read in (the primary key: stable, so a copy cut short continues where it stopped).
public struct MigrationTable: Sendable {
    public enum Column: Sendable {
        case int, bytes, text, bool
    }

    public let name: String
    public let columns: [(name: String, type: Column)]
    public let orderBy: String
    /// The target generates this table's ids (`GENERATED ALWAYS AS IDENTITY`): copied rows keep theirs.
    public let keepsIdentity: Bool

    /// The tables, parents before children (a token's subject exists before it is copied).
    public static let all: [MigrationTable] = [
        MigrationTable(
            name: "subjects",
            columns: [
                ("id", .int), ("name", .text), ("kek_version", .int), ("dek_version", .int), ("wrapped_key", .bytes),
                ("created_at", .int), ("restricted_at", .int), ("restriction_reason", .text),
            ],
            orderBy: "id",
            keepsIdentity: true
        ),
        MigrationTable(
            name: "tokens",
            columns: [
                ("id", .int), ("addressed", .bool), ("lookup", .bytes), ("subject_id", .int), ("kind", .text),
                ("mode", .text), ("sealed", .bytes), ("purposes", .text), ("expires_at", .int),
                ("max_reveals", .int), ("reveals", .int), ("created_at", .int),
            ],
            orderBy: "id",
            keepsIdentity: false
        ),
        MigrationTable(
            name: "token_tombstones",
            columns: [("lookup", .bytes), ("erased_at", .int)],
            orderBy: "lookup",
            keepsIdentity: false
        ),
        MigrationTable(
            name: "idempotency",
            columns: [
                ("key_hash", .bytes), ("subject_id", .int), ("request_mac", .bytes), ("sealed_response", .bytes),
                ("created_at", .int),
            ],
            orderBy: "key_hash",
            keepsIdentity: false
        ),
        MigrationTable(
            name: "consents",
            columns: [
                ("subject_id", .int), ("purpose", .text), ("state", .text), ("at", .int), ("source", .text),
                ("expires_at", .int),
            ],
            orderBy: "subject_id, purpose",
            keepsIdentity: false
        ),
        MigrationTable(
            name: "consent_history",
            columns: [
                ("id", .int), ("subject_id", .int), ("purpose", .text), ("state", .text), ("at", .int),
                ("source", .text), ("expires_at", .int),
            ],
            orderBy: "id",
            keepsIdentity: true
        ),
        MigrationTable(
            name: "audit",
            columns: [("seq", .int), ("prev", .bytes), ("hash", .bytes), ("body", .text)],
            orderBy: "seq",
            keepsIdentity: false
        ),
        MigrationTable(
            name: "audit_seals",
            columns: [("seq", .int), ("hash", .bytes), ("signature", .bytes), ("at", .int)],
            orderBy: "seq",
            keepsIdentity: false
        ),
        MigrationTable(
            name: "audit_subjects",
            columns: [("subject_ref", .bytes), ("seq", .int)],
            orderBy: "subject_ref, seq",
            keepsIdentity: false
        ),
    ]

    /// Where the target keeps what a copy cut short had done: table by table, how many rows of the source's
    /// order are copied, and which vault (its audit public key) they come from.
    public static let progressTable = "cvault_migration"
}

/// The counters a copy carries over beside the rows: the last token id ever handed out (erased rows
/// included: ids never come back), the last subject id, and the erase counter.
public struct MigrationCounters: Sendable, Equatable {
    public var lastTokenID: Int64
    public var lastSubjectID: Int64
    public var erasures: Int64

    public init(lastTokenID: Int64, lastSubjectID: Int64, erasures: Int64) {
        self.lastTokenID = lastTokenID
        self.lastSubjectID = lastSubjectID
        self.erasures = erasures
    }
}
