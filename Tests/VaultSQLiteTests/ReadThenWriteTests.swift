import Foundation
import Testing
import VaultCore
import VaultStoreRuntime
import VaultTestSupport

@testable import VaultSQLite

/// Where `readThenWrite` runs its read: in the write job when that is cheap, on a reader when the writer is busy.
@Suite struct ReadThenWriteTests {
    /// The name of the store thread a closure ran on.
    private static var threadName: String { currentThreadName() }

    @Test func anIdleWriterReadsInsideTheWriteJob() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let token = makeToken(subjectID: subject.id)
            let before = store.commitCount
            let (readOn, found, snapshot) = try await store.readThenWrite(
                items: 256,
                read: { reader in (Self.threadName, try reader.tokens(lookup: token.lookup).count) },
                write: { writer, found, snapshot in
                    try writer.insertToken(token)
                    return (found.0, found.1, snapshot)
                }
            )
            #expect(readOn == "cvault-writer")
            #expect(snapshot == .current)
            #expect(found == 0)
            #expect(store.commitCount - before == 1)
            #expect(try await store.read { try $0.tokens(lookup: token.lookup).count } == 1)
        }
    }

    @Test func aBusyWriterSendsLargeReadsToAReaderAndSmallOnesToItsQueue() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let gate = await WriterGate(store)
            // The writer is held: a large read runs now, on a reader, while its write waits behind the gate.
            let readStarted = DispatchSemaphore(value: 0)
            let large = Task {
                try await store.readThenWrite(
                    items: SQLiteStore.smallRead + 1,
                    read: { _ in
                        readStarted.signal()
                        return Self.threadName
                    },
                    write: { writer, readOn, snapshot in
                        try writer.insertToken(makeToken(subjectID: subject.id))
                        return (readOn, snapshot)
                    }
                )
            }
            // A small one waits in the writer's queue with its read.
            let small = Task {
                try await store.readThenWrite(
                    items: SQLiteStore.smallRead,
                    read: { _ in Self.threadName },
                    write: { _, readOn, snapshot in (readOn, snapshot) }
                )
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Thread {
                    readStarted.wait()
                    continuation.resume()
                }.start()
            }
            try await gate.release(after: 2, of: store)
            let (largeReadOn, largeSnapshot) = try await large.value
            let (smallReadOn, smallSnapshot) = try await small.value
            #expect(largeReadOn.hasPrefix("cvault-reader"))
            #expect(largeSnapshot == .current, "no erase committed between the read and the write")
            #expect(smallReadOn == "cvault-writer")
            #expect(smallSnapshot == .current)
            #expect(try await store.read { try $0.stats().tokens } == 1)
        }
    }

    @Test func aReadThatThrowsInTheWriteJobKeepsNothing() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let token = makeToken(subjectID: subject.id)
            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await store.readThenWrite(
                    items: 1,
                    read: { _ in throw Refused() },
                    write: { writer, _, _ in try writer.insertToken(token) }
                )
            }
            #expect(try await store.read { try $0.tokens(lookup: token.lookup).count } == 0)
        }
    }
}

/// A write after a read on a reader learns whether a subject was erased in between, from one query.
@Suite struct ReadThenWriteErasureTests {
    @Test func anEraseBetweenTheReadAndTheWriteIsReported() async throws {
        try await withStore { store, _ in
            _ = try await addSubject(store, "cust-gone")
            let other = try await addSubject(store, "cust-other")
            let read: @Sendable (any StoreReader) throws -> Int = { try $0.stats().subjects }
            let told: @Sendable (any StoreWriter, Int, ReadSnapshot) throws -> ReadSnapshot = { _, _, snapshot in
                snapshot
            }

            #expect(try await store.readOnReaderThenWrite(read: read, between: nil, write: told) == .current)
            let inserted = try await store.readOnReaderThenWrite(
                read: read,
                between: {
                    try await store.write { try $0.insertToken(makeToken(subjectID: other.id)) }
                },
                write: told
            )
            #expect(inserted == .current, "a write that erases nothing is not an erase")
            let erased = try await store.readOnReaderThenWrite(
                read: read,
                between: {
                    _ = try await store.write { try $0.eraseSubject(named: "cust-gone") }
                },
                write: told
            )
            #expect(erased == .changedSince)
            #expect(try await store.readOnReaderThenWrite(read: read, between: nil, write: told) == .current)
        }
    }
}
