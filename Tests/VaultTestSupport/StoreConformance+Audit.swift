import Testing
import VaultCore

/// The audit chain as stored: appended in order, never forked, and each write sees the head its
/// predecessors left, even when a neighbour in its group rolled back.
extension StoreConformance {
    static let audit: [Check] = [
        Check("audit records append in order, page by seq, and a taken seq is refused") { store in
            #expect(try await store.write { try $0.auditHead() } == nil)
            let rows = (1...5).map {
                AuditRow(seq: Int64($0), prev: randomBytes(32), hash: randomBytes(32), body: "{\"n\":\($0)}")
            }
            for row in rows { try await store.write { try $0.appendAudit(row) } }
            #expect(try await store.write { try $0.auditHead() } == rows.last)
            #expect(try await store.read { try $0.auditRows(from: 2, limit: 3) } == Array(rows[1...3]))
            #expect(try await store.read { try $0.auditRows(from: 5, limit: 10) } == [rows[4]])
            #expect(try await store.read { try $0.auditRows(from: 6, limit: 10) } == [])
            let fork = AuditRow(seq: 3, prev: [], hash: [], body: "{}")
            await #expect(throws: (any Error).self) { try await store.write { try $0.appendAudit(fork) } }
            #expect(try await store.read { try $0.auditRows(from: 1, limit: 10) } == rows)
        },

        Check("concurrent writes each extend the head they see, in order, even beside rolled-back appends") {
            store in
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<64 {
                    group.addTask {
                        do {
                            try await store.write { writer in
                                let head = try writer.auditHead()
                                let row = AuditRow(
                                    seq: (head?.seq ?? 0) + 1,
                                    prev: head?.hash ?? [],
                                    hash: randomBytes(32),
                                    body: "{}"
                                )
                                try writer.appendAudit(row)
                                #expect(try writer.auditHead() == row, "a write sees its own append as the head")
                                if index % 4 == 3 { throw ThrownOnPurpose(index) }
                            }
                            return true
                        } catch is ThrownOnPurpose {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            let rows = try await store.read { try $0.auditRows(from: 1, limit: 1_000) }
            #expect(outcomes == 48)
            #expect(rows.map(\.seq) == Array(1...48))
            #expect(zip(rows, rows.dropFirst()).allSatisfy { $1.prev == $0.hash }, "each record extends the one before")
        },

        Check("seals appended in any order list in order of seq, and the last one is the latest") { store in
            #expect(try await store.write { try $0.lastAuditSeal() } == nil)
            let seals = [10, 20, 30].map {
                AuditSeal(seq: Int64($0), hash: randomBytes(32), signature: randomBytes(64), at: Int64($0))
            }
            for seal in seals.reversed() { try await store.write { try $0.appendAuditSeal(seal) } }
            #expect(try await store.read { try $0.auditSeals() } == seals)
            #expect(try await store.write { try $0.lastAuditSeal() } == seals.last)
        },
    ]

    static let idempotency: [Check] = [
        Check("idempotency records are stored, replaced for their key, and found by it") { store in
            let subject = try await addSubject(store, "cust-1")
            let key = randomBytes(32)
            #expect(try await store.read { try $0.idempotency(keyHash: key) } == nil)
            let first = IdempotencyRecord(
                keyHash: key,
                subjectID: subject.id,
                requestMAC: randomBytes(32),
                sealedResponse: randomBytes(90),
                createdAt: 1
            )
            try await store.write { try $0.putIdempotency(first) }
            #expect(try await store.read { try $0.idempotency(keyHash: key) } == first)
            let second = IdempotencyRecord(
                keyHash: key,
                subjectID: subject.id,
                requestMAC: randomBytes(32),
                sealedResponse: [],
                createdAt: 2
            )
            try await store.write { try $0.putIdempotency(second) }
            #expect(try await store.read { try $0.idempotency(keyHash: key) } == second)
        },

        Check("purge deletes at most its limit of records created before the cutoff, oldest first") { store in
            let subject = try await addSubject(store, "cust-1")
            let records = [50, 10, 40, 20, 30, 60].map {
                IdempotencyRecord(
                    keyHash: randomBytes(32),
                    subjectID: subject.id,
                    requestMAC: [1],
                    sealedResponse: [2],
                    createdAt: Int64($0)
                )
            }
            try await store.write { writer in for record in records { try writer.putIdempotency(record) } }
            #expect(try await store.write { try $0.purgeIdempotency(createdBefore: 45, limit: 2) } == 2)
            let left = try await store.read { reader in
                try records.filter { try reader.idempotency(keyHash: $0.keyHash) != nil }.map(\.createdAt)
            }
            #expect(left.sorted() == [30, 40, 50, 60], "the two oldest went")
            #expect(try await store.write { try $0.purgeIdempotency(createdBefore: 45, limit: 10) } == 2)
            #expect(try await store.write { try $0.purgeIdempotency(createdBefore: 45, limit: 10) } == 0)
            #expect(try await store.read { try $0.idempotency(keyHash: records[5].keyHash) } == records[5])
        },
    ]
}
