import Testing
import VaultTestSupport

@testable import VaultCore
@testable import VaultSQLite

/// The writer remembers the audit chain's head within a group; a job rolled back to its savepoint must take
/// its appended record out of that memory too, or the next job would chain to a record that never existed.
@Suite struct AuditTailTests {
    @Test func aRolledBackAppendNeverBecomesTheNextRecordsPrev() async throws {
        try await withStore { store, _ in
            for round in 0..<8 {
                let gate = await WriterGate(store)
                // Queued in this order (the writer takes jobs first in, first out), so the failing job runs
                // between kept ones and the job after it would see a stale head if the rollback kept it.
                var appenders = [Task { try await store.write { try Self.appendNext($0) } }]
                try await Self.waitForQueue(store, count: 1)
                let failing = Task {
                    try await store.write { writer in
                        try Self.appendNext(writer)
                        throw AppendRolledBack()
                    }
                }
                try await Self.waitForQueue(store, count: 2)
                appenders += (0..<2).map { _ in Task { try await store.write { try Self.appendNext($0) } } }
                try await gate.release(after: 4, of: store)
                for task in appenders { try await task.value }
                await #expect(throws: AppendRolledBack.self) { try await failing.value }
                let rows = try await store.read { try $0.auditRows(from: 1, limit: 1_000) }
                #expect(rows.count == 3 * (round + 1), "round \(round): only the kept jobs' records")
                var prev = AuditChain.genesis
                for (i, row) in rows.enumerated() {
                    #expect(row.seq == Int64(i + 1))
                    #expect(row.prev == prev, "record \(row.seq) chains to the record before it")
                    prev = row.hash
                }
            }
        }
    }

    /// Waits (bounded) until `count` writes are queued behind the gate.
    static func waitForQueue(_ store: SQLiteStore, count: Int) async throws {
        for _ in 0..<5_000 where store.queuedWrites < count { try await Task.sleep(for: .milliseconds(2)) }
        try #require(store.queuedWrites >= count)
    }

    static func appendNext(_ writer: any StoreWriter) throws {
        let head = try writer.auditHead()
        let seq = (head?.seq ?? 0) + 1
        let prev = head?.hash ?? AuditChain.genesis
        let body = "{\"seq\":\(seq)}"
        try writer.appendAudit(
            AuditRow(seq: seq, prev: prev, hash: AuditChain.hash(prev: prev, body: body), body: body)
        )
    }
}
private struct AppendRolledBack: Error {}
