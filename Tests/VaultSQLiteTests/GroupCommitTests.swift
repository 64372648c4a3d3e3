import Foundation
import Testing
import VaultCore
import VaultTestSupport

@testable import VaultSQLite

private struct JobFailed: Error {}

/// Group commit, isolation of failing jobs, concurrency and the store's life cycle.
@Suite struct GroupCommitTests {
    @Test func aThrowingJobRollsBackAloneWhileItsGroupCommits() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let tokens = (0..<3).map { _ in makeToken(subjectID: subject.id) }
            let gate = await WriterGate(store)
            let before = store.commitCount
            let first = Task { try await store.write { try $0.insertToken(tokens[0]) } }
            let failing = Task {
                try await store.write { writer in
                    try writer.insertToken(tokens[1])
                    throw JobFailed()
                }
            }
            let third = Task { try await store.write { try $0.insertToken(tokens[2]) } }
            try await gate.release(after: 3, of: store)

            try await first.value
            await #expect(throws: JobFailed.self) { try await failing.value }
            try await third.value
            // The gate's own write, then the three queued jobs together.
            #expect(store.commitCount - before == 2)
            let kept = try await store.read { reader in try tokens.map { try reader.tokens(lookup: $0.lookup).count } }
            #expect(kept == [1, 0, 1])
        }
    }

    @Test func queuedWritesShareOneCommit() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let gate = await WriterGate(store)
            let before = store.commitCount
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<64 {
                    group.addTask { try await store.write { try $0.insertToken(makeToken(subjectID: subject.id)) } }
                }
                try await gate.release(after: 64, of: store)
                try await group.waitForAll()
            }
            #expect(store.commitCount - before == 2)
            #expect(try await store.read { try $0.stats().tokens } == 64)
        }
    }

    @Test func concurrentWritesAreGroupedWithoutHelp() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let before = store.commitCount
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<64 {
                    group.addTask { try await store.write { try $0.insertToken(makeToken(subjectID: subject.id)) } }
                }
                try await group.waitForAll()
            }
            let commits = store.commitCount - before
            // One commit per write would be 64; while one group's fsync runs, the next callers queue up.
            #expect(commits < 64)
            #expect(try await store.read { try $0.stats().tokens } == 64)
        }
    }

    @Test func rowsSurviveCloseAndReopen() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/vault.db"
            let store = try SQLiteStore.create(at: path)
            let subject = try await addSubject(store, "cust-1")
            let token = makeToken(subjectID: subject.id)
            try await store.write { try $0.insertToken(token) }
            await store.close()

            let reopened = try SQLiteStore.open(at: path)
            let found = try await reopened.read { try $0.tokens(lookup: token.lookup) }
            #expect(found == [StoredToken(token: token, subject: subject)])
            await reopened.close()
        }
    }

    @Test func twoStoresOnOneFileSeeEachOthersWrites() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/vault.db"
            let server = try SQLiteStore.create(at: path)
            let cli = try SQLiteStore.open(at: path)
            let subject = try await addSubject(server, "cust-1")
            #expect(try await cli.read { try $0.subject(named: "cust-1") } == subject)
            _ = try await addSubject(cli, "cust-2")
            #expect(try await server.read { try $0.subject(named: "cust-2") } != nil)

            // Both write at once: SQLite's lock and the busy timeout serialize the two writers.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<100 {
                    let store = index.isMultiple(of: 2) ? server : cli
                    group.addTask { try await store.write { try $0.insertToken(makeToken(subjectID: subject.id)) } }
                }
                try await group.waitForAll()
            }
            #expect(try await cli.read { try $0.stats().tokens } == 100)
            await cli.close()
            await server.close()
        }
    }

    @Test func closeFinishesQueuedWritesThenRefusesNewOnes() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/vault.db"
            let store = try SQLiteStore.create(at: path)
            let subject = try await addSubject(store, "cust-1")
            let gate = await WriterGate(store)
            let writes = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<10 {
                        group.addTask { try await store.write { try $0.insertToken(makeToken(subjectID: subject.id)) } }
                    }
                    try await group.waitForAll()
                }
            }
            while store.queuedWrites < 10 { try await Task.sleep(for: .milliseconds(2)) }
            let closed = Task { await store.close() }
            try await gate.release(after: 10, of: store)
            try await writes.value
            await closed.value

            let error = await #expect(throws: VaultError.self) { try await store.write { _ in () } }
            #expect(error?.code == .storage)
            #expect(error?.message == "store is closed")
            await #expect(throws: VaultError.self) { try await store.read { _ in () } }
            await #expect(throws: VaultError.self) { try await store.checkpoint() }
            await store.close()  // a second close is harmless

            let reopened = try SQLiteStore.open(at: path)
            #expect(try await reopened.read { try $0.stats().tokens } == 10)
            await reopened.close()
        }
    }
}
