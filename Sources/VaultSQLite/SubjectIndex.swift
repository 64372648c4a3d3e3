import VaultCore

/// The audit log's index by subject (`audit_subjects`, schema 4) is filled in batches: each record's
/// references are appended to `audit_subjects_pending` in the record's own transaction (one row per record,
/// keyed by `seq`), and the writer moves them into the index, sorted, once `mergeEvery` entries have gathered.
/// The index's key starts with a keyed (random-looking) subject reference, so entries inserted one by one each
/// dirty a page of their own; sorted and together, each page is written once per batch. Look-ups read both
/// tables (`SQLiteAccess.auditRows(concerning:)`), so nothing is ever missing from them; the pending table, at
/// most about a batch (1 MiB of references), costs a report a few milliseconds. A crash leaves the pending
/// rows durable where they are; the next merge takes them.
enum SubjectIndex {
    /// Entries gathered before a merge. Measured on `cvault bench` (docs/BENCHMARKS.md, 2026-12-02): at 8,192
    /// a merge still wrote most pages of the index each time, and detokenize 64 × 1 ran at about 0.7 of its
    /// speed without the index; at 65,536 it runs at par. A merge holds the writer for some tens of
    /// milliseconds (one write's latency then), about once a second at the heaviest load.
    static let mergeEvery = 65_536
    /// The length of one reference (`Binding.subjectReference`: BLAKE2b-128).
    static let referenceBytes = 16

    /// A record's references, end to end, as one pending row holds them.
    static func joined(_ refs: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(refs.count * referenceBytes)
        for ref in refs where ref.count == referenceBytes { out += ref }
        return out
    }

    /// The pending records after `seq`, each with its references.
    static func pending(_ db: SQLiteConnection, after seq: Int64) throws -> [(seq: Int64, refs: [[UInt8]])] {
        try db.query(
            "SELECT seq, subject_refs FROM audit_subjects_pending WHERE seq > ? ORDER BY seq",
            [.int(seq)],
            what: "reading the subject index's pending entries"
        ) { row in
            let bytes = row.blob(1)
            let refs = stride(from: 0, to: bytes.count - referenceBytes + 1, by: referenceBytes).map {
                Array(bytes[$0..<$0 + referenceBytes])
            }
            return (row.int64(0), refs)
        }
    }

    /// The seqs of the pending records after `seq` whose references include `subjectRef`, in order: one pass
    /// over the pending rows, compared in place.
    static func pendingRecords(_ db: SQLiteConnection, after seq: Int64, naming subjectRef: [UInt8]) throws -> [Int64] {
        try db.query(
            "SELECT seq, subject_refs FROM audit_subjects_pending WHERE seq > ? ORDER BY seq",
            [.int(seq)],
            what: "reading the subject index's pending entries"
        ) { row in names(row.blob(1), subjectRef) ? row.int64(0) : nil }
        .compactMap { $0 }
    }

    /// Whether a pending row's references (`joined`) include `subjectRef`.
    static func names(_ refs: [UInt8], _ subjectRef: [UInt8]) -> Bool {
        guard subjectRef.count == referenceBytes else { return false }
        var start = 0
        while start + referenceBytes <= refs.count {
            if refs[start..<start + referenceBytes].elementsEqual(subjectRef) { return true }
            start += referenceBytes
        }
        return false
    }

    /// Moves every pending entry into the index, sorted, in one transaction of its own on the writer's
    /// connection. Safe to repeat after a crash: `INSERT OR IGNORE` skips an entry already moved.
    static func merge(_ db: SQLiteConnection) throws {
        try db.execute("BEGIN IMMEDIATE", what: "starting a merge of the subject index")
        do {
            let records = try pending(db, after: 0)
            let entries = records.flatMap { record in record.refs.map { (ref: $0, seq: record.seq) } }
                .sorted { ($0.ref.lexicographicallyPrecedes($1.ref)) || ($0.ref == $1.ref && $0.seq < $1.seq) }
            for entry in entries {
                try db.execute(
                    "INSERT OR IGNORE INTO audit_subjects(subject_ref, seq) VALUES (?, ?)",
                    [.blob(entry.ref), .int(entry.seq)],
                    what: "merging the subject index"
                )
            }
            if let last = records.last?.seq {
                try db.execute(
                    "DELETE FROM audit_subjects_pending WHERE seq <= ?",
                    [.int(last)],
                    what: "merging the subject index"
                )
            }
            try db.execute("COMMIT", what: "committing a merge of the subject index")
        } catch {
            if !db.isAutocommit { try? db.execute("ROLLBACK", what: "rolling back a merge of the subject index") }
            throw error
        }
    }
}
