import Testing
import VaultTestSupport

@testable import VaultCore
@testable import VaultSQLite

/// The subject index fills in sorted batches (`SubjectIndex`): entries wait in `audit_subjects_pending`,
/// committed with their record, until the writer merges them. A look-up finds every record on either side of
/// a merge, and the pending table never grows past a batch.
@Suite struct SubjectIndexTests {
    @Test func lookUpsFindEveryRecordWhetherItsEntriesArePendingOrMerged() async throws {
        try await withStore { store, path in
            let subjects = (0..<64).map { _ in randomBytes(16) }
            let perRecord = 32
            let records = SubjectIndex.mergeEvery / perRecord + 40
            // Record n names `perRecord` subjects, starting at subject n % 64: each subject is in half the log.
            func named(_ seq: Int) -> [[UInt8]] { (0..<perRecord).map { subjects[(seq + $0) % subjects.count] } }
            var prev = AuditChain.genesis
            for seq in 1...records {
                let body = "{\"seq\":\(seq)}"
                let hash = AuditChain.hash(prev: prev, body: body)
                let row = AuditRow(seq: Int64(seq), prev: prev, hash: hash, body: body, subjectRefs: named(seq))
                try await store.write { try $0.appendAudit(row) }
                prev = hash
            }
            let expected = subjects.map { ref in (1...records).filter { named($0).contains(ref) }.map(Int64.init) }
            let found = try await store.read { reader in
                try subjects.map { try reader.auditRows(concerning: $0, after: 0, limit: 10_000).map(\.seq) }
            }
            #expect(found == expected)
            // Paging across the two tables keeps the order.
            let paged = try await store.read { reader in
                var seqs: [Int64] = []
                while true {
                    let page = try reader.auditRows(concerning: subjects[0], after: seqs.last ?? 0, limit: 7)
                    if page.isEmpty { return seqs }
                    seqs += page.map(\.seq)
                }
            }
            #expect(paged == expected[0])
            await store.close()
            let db = try SQLiteConnection(path: path)
            defer { db.close() }
            let pending = try db.queryOne(
                "SELECT sum(length(subject_refs)) / 16 FROM audit_subjects_pending",
                what: "test"
            ) { $0.int(0) }
            let merged = try db.queryOne("SELECT count(*) FROM audit_subjects", what: "test") { $0.int(0) }
            #expect((merged ?? 0) >= SubjectIndex.mergeEvery, "a merge ran")
            #expect((pending ?? 0) < SubjectIndex.mergeEvery, "the pending table stays below a batch")
            #expect((merged ?? 0) + (pending ?? 0) == records * perRecord, "every entry is on one side")
        }
    }
}
