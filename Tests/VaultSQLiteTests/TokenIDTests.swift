import Testing
import VaultCore
import VaultTestSupport

@testable import VaultSQLite

/// Schema 2: every token row has an id that is never reused; rows whose token carries the id are found by
/// it and only by it, the others only by lookup.
@Suite struct TokenIDTests {
    struct JobFailed: Error {}

    /// Inside a write: reserves an id, inserts a row that carries it, returns the id.
    static func insertCarried(_ writer: any StoreWriter, subjectID: Int64) throws -> Int64 {
        let id = try writer.nextTokenID()
        try writer.insertToken(makeToken(subjectID: subjectID, id: id, addressing: .id))
        return id
    }

    @Test func rowsAreFoundByIDOrByLookupNeverBoth() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let (carried, byLookup) = try await store.write { writer in
                let carried = makeToken(subjectID: subject.id, id: try writer.nextTokenID(), addressing: .id)
                let byLookup = makeToken(subjectID: subject.id, id: try writer.nextTokenID(), mode: .deterministic)
                try writer.insertToken(carried)
                try writer.insertToken(byLookup)
                return (carried, byLookup)
            }
            #expect(
                try await store.read { try $0.token(id: carried.id) } == StoredToken(token: carried, subject: subject)
            )
            #expect(try await store.read { try $0.token(id: byLookup.id) } == nil, "a lookup row is not found by id")
            #expect(
                try await store.read { try $0.tokens(lookup: carried.lookup) } == [],
                "an id row is not found by lookup"
            )
            #expect(
                try await store.read { try $0.tokens(lookup: byLookup.lookup) } == [
                    StoredToken(token: byLookup, subject: subject)
                ]
            )
            #expect(try await store.write { try $0.tokenExists(lookup: carried.lookup) } == false)
            #expect(try await store.read { try $0.token(id: 987_654_321) } == nil)
        }
    }

    @Test func idsRiseWithinAGroupAndAcrossGroups() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let first = try await store.write { writer in
                try (0..<3).map { _ in try Self.insertCarried(writer, subjectID: subject.id) }
            }
            #expect(first == [1, 2, 3])
            // Several jobs in one group share the transaction: each gets its own ids.
            let gate = await WriterGate(store)
            let jobs = (0..<4).map { _ in
                Task { try await store.write { writer in try Self.insertCarried(writer, subjectID: subject.id) } }
            }
            let before = store.commitCount
            try await gate.release(after: 4, of: store)
            var grouped: [Int64] = []
            for job in jobs { grouped.append(try await job.value) }
            #expect(store.commitCount - before == 2, "the gate's own group, then the four jobs together")
            #expect(grouped.sorted() == [4, 5, 6, 7])
        }
    }

    @Test func anErasedRowsIDIsNeverHandedOutAgain() async throws {
        try await withStore { store, path in
            let subject = try await addSubject(store, "cust-gone")
            let ids = try await store.write { writer in
                try (0..<5).map { _ in try Self.insertCarried(writer, subjectID: subject.id) }
            }
            #expect(try await store.write { try $0.eraseSubject(named: "cust-gone") } == 5)
            #expect(try await store.read { try $0.stats().tokens } == 0)
            #expect(try await store.write { try $0.nextTokenID() } > ids.max()!)
            await store.close()
            // Another process (or a restart) sees the same: the high mark is in the database, not in memory.
            let reopened = try SQLiteStore.open(at: path)
            #expect(try await reopened.write { try $0.nextTokenID() } > ids.max()!)
            await reopened.close()
        }
    }

    @Test func aRolledBackJobsIDsAreNotReusedWithinItsGroup() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let gate = await WriterGate(store)
            let failing = Task {
                try await store.write { writer -> Int64 in
                    _ = try Self.insertCarried(writer, subjectID: subject.id)
                    throw JobFailed()
                }
            }
            // Queued first, so it runs first in the group.
            while store.queuedWrites < 1 { try await Task.sleep(for: .milliseconds(2)) }
            let kept = Task {
                try await store.write { writer in try Self.insertCarried(writer, subjectID: subject.id) }
            }
            try await gate.release(after: 2, of: store)
            await #expect(throws: JobFailed.self) { try await failing.value }
            let keptID = try await kept.value
            #expect(keptID == 2, "the failed job's id 1 is skipped, not handed out again in the same group")
            #expect(try await store.read { try $0.token(id: keptID) }?.token.id == keptID)
            #expect(try await store.read { try $0.stats().tokens } == 1)
        }
    }

    /// The runbook says to stop the server before upgrading, but an older cvault left running inserts rows the
    /// schema-1 way (no id, no `addressed`): they must be rows this version finds, by lookup.
    @Test func aRowInsertedTheSchemaOneWayIsFoundByLookup() async throws {
        try await withStore { store, path in
            let subject = try await addSubject(store, "cust-old")
            let carried = try await store.write { try Self.insertCarried($0, subjectID: subject.id) }
            let lookup = randomBytes(16)
            let old = try SQLiteConnection(path: path)
            try old.execute(
                """
                INSERT INTO tokens(lookup, subject_id, kind, mode, sealed, purposes, expires_at, max_reveals, reveals,
                                   created_at)
                VALUES (?, ?, 'text', 'opaque', ?, NULL, NULL, NULL, 0, 1700000000)
                """,
                [.blob(lookup), .int(subject.id), .blob(randomBytes(64))],
                what: "a schema-1 insert"
            )
            old.close()
            let found = try await store.read { try $0.tokens(lookup: lookup) }
            #expect(found.count == 1 && found.first?.token.addressing == .lookup)
            #expect(found.first.map { $0.token.id > carried } == true)
            #expect(try await store.write { try $0.nextTokenID() } > found.first?.token.id ?? .max)
        }
    }
}
