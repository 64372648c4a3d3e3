import Foundation
import Testing
import VaultCore
import VaultTestSupport

@testable import VaultSQLite

/// The WAL is copied into the database file off the commit path, and started over so it stays bounded.
@Suite struct CheckpointerTests {
    /// Small numbers, so a test writes a few thousand frames instead of hundreds of thousands.
    private static let small = Checkpointer.Settings(threshold: 200, remainder: 40, hardLimit: 100_000)

    /// The load below writes ~11,500 frames; with checkpoints the WAL was seen at 700–1,500 frames (threshold
    /// 200, then the rounds it takes to catch up with a writer that never pauses). 5,000 frames of 4,096 + 24
    /// bytes leaves room for a slow machine and stays far below what no checkpoints (or checkpoints that never
    /// let the WAL start over) leave.
    private static let bound = 5_000 * 4_120

    private static func walBytes(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// 16 writers, each writing 100 times 4 rows with one write in flight: the writer is never idle, so a
    /// checkpoint in the background alone never finds the WAL fully copied between commits.
    private static func writeSteadily(_ store: SQLiteStore, subjectID: Int64) async throws -> [TokenRecord] {
        try await withThrowingTaskGroup(of: [TokenRecord].self) { group in
            for _ in 0..<16 {
                group.addTask {
                    var written: [TokenRecord] = []
                    for _ in 0..<100 {
                        let rows = (0..<4).map { _ in makeToken(subjectID: subjectID) }
                        try await store.write { writer in for row in rows { try writer.insertToken(row) } }
                        written += rows
                    }
                    return written
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    @Test func theWALStaysBoundedUnderSteadyWritesAndEveryRowSurvives() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/vault.db"
            let store = try SQLiteStore.create(at: path, checkpoints: Self.small)
            let subject = try await addSubject(store, "cust-1")
            // Steady load, never idle: 16 writers, each with one write in flight at a time, 4 random-key rows a write.
            let tokens = try await Self.writeSteadily(store, subjectID: subject.id)
            #expect(store.checkpointCount > 0)
            #expect(Self.walBytes(path) < Self.bound, "WAL of \(Self.walBytes(path)) bytes")
            let found = try await store.read { reader in
                try tokens.filter { try reader.tokens(lookup: $0.lookup).count == 1 }.count
            }
            #expect(found == tokens.count)
            await store.close()

            // The database file alone (the WAL is gone after a clean close) holds every row.
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
            let reopened = try SQLiteStore.open(at: path)
            #expect(try await reopened.read { try $0.stats().tokens } == tokens.count)
            await reopened.close()
        }
    }

    @Test func pastTheHardLimitARestartCheckpointBoundsTheWALOnItsOwn() async throws {
        // The writer never finishes a checkpoint here (no rest is ever small enough), so only the hard limit's
        // RESTART checkpoint can let the WAL start over.
        try await withTemporaryFolder { folder in
            let path = folder + "/vault.db"
            let store = try SQLiteStore.create(
                at: path,
                checkpoints: .init(threshold: 200, remainder: -1, hardLimit: 1_000)
            )
            let subject = try await addSubject(store, "cust-1")
            let tokens = try await Self.writeSteadily(store, subjectID: subject.id)
            #expect(store.checkpointCount > 0)
            #expect(Self.walBytes(path) < Self.bound, "WAL of \(Self.walBytes(path)) bytes")
            #expect(try await store.read { try $0.stats().tokens } == tokens.count)
            await store.close()
        }
    }

    @Test func withoutCheckpointsTheWALWouldHaveGrown() async throws {
        // The control for the test above: the same load with checkpoints out of reach grows the WAL past its bound,
        // so that bound means something.
        try await withTemporaryFolder { folder in
            let path = folder + "/vault.db"
            let never = Checkpointer.Settings(threshold: 10_000_000, remainder: 0, hardLimit: 10_000_000)
            let store = try SQLiteStore.create(at: path, checkpoints: never)
            let subject = try await addSubject(store, "cust-1")
            _ = try await Self.writeSteadily(store, subjectID: subject.id)
            #expect(store.checkpointCount == 0)
            #expect(Self.walBytes(path) >= Self.bound, "WAL of \(Self.walBytes(path)) bytes")
            await store.close()
        }
    }
}
