import Dispatch
import Testing
import VaultCore

/// `write` is a transaction, callers are isolated from each other, and `read` sees one snapshot.
extension StoreConformance {
    static let transactions: [Check] = [
        Check("a write keeps every change of a closure that returns") { store in
            let (id, token) = try await store.write { writer in
                let id = try writer.insertSubject(name: "cust-1", kekVersion: 1, dekVersion: 1, wrappedKey: [7])
                let token = makeToken(subjectID: id)
                try writer.insertToken(token)
                try writer.appendAudit(AuditRow(seq: 1, prev: [0], hash: [1], body: "{}"))
                return (id, token)
            }
            let after = try await store.read { reader in
                (try reader.subjectExists(id: id), try reader.tokens(lookup: token.lookup).count, try reader.stats())
            }
            #expect(after.0 && after.1 == 1)
            #expect(after.2 == StoreStats(subjects: 1, tokens: 1, auditRecords: 1, dataKeysByKEK: [1: 1]))
        },

        Check("a write that throws keeps none of its changes and rethrows its own error") { store in
            let kept = try await addSubject(store, "cust-kept")
            let gone = try await addSubject(store, "cust-to-erase")
            let limited = makeToken(subjectID: kept.id, limits: TokenLimits(maxReveals: 3))
            let keyHash = randomBytes(32)
            try await store.write { writer in
                try writer.insertToken(limited)
                try writer.appendAudit(AuditRow(seq: 1, prev: [0], hash: [1], body: "{}"))
                try writer.appendAuditSeal(AuditSeal(seq: 1, hash: [1], signature: [2], at: 1))
            }
            let names = ["cust-kept", "cust-to-erase", "cust-new"]
            let before = try await store.read { try snapshot(of: $0, subjects: names) }
            let error = await #expect(throws: ThrownOnPurpose.self) {
                try await store.write { writer in
                    let id = try writer.insertSubject(name: "cust-new", kekVersion: 1, dekVersion: 1, wrappedKey: [1])
                    try writer.insertToken(makeToken(subjectID: id))
                    try writer.updateWrappedKey(subjectID: kept.id, kekVersion: 9, wrappedKey: [9])
                    _ = try writer.claimReveal(tokenID: limited.id)
                    _ = try writer.eraseSubject(named: gone.name)
                    try writer.appendAudit(AuditRow(seq: 2, prev: [1], hash: [2], body: "{}"))
                    try writer.appendAuditSeal(AuditSeal(seq: 2, hash: [2], signature: [3], at: 2))
                    try writer.putIdempotency(
                        IdempotencyRecord(
                            keyHash: keyHash,
                            subjectID: kept.id,
                            requestMAC: [1],
                            sealedResponse: [2],
                            createdAt: 1
                        )
                    )
                    throw ThrownOnPurpose(7)
                }
            }
            #expect(error == ThrownOnPurpose(7))
            let after = try await store.read { try snapshot(of: $0, subjects: names) }
            #expect(after == before)
            #expect(try await store.read { try $0.idempotency(keyHash: keyHash) } == nil)
        },

        Check("a caller whose write throws leaves the concurrent writes beside it committed") { store in
            let subject = try await addSubject(store, "cust-1")
            let tokens = (0..<48).map { _ in makeToken(subjectID: subject.id) }
            let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for (index, token) in tokens.enumerated() {
                    group.addTask {
                        do {
                            try await store.write { writer in
                                try writer.insertToken(token)
                                if index % 3 == 1 { throw ThrownOnPurpose(index) }
                            }
                            return (index, true)
                        } catch let error as ThrownOnPurpose {
                            #expect(error.tag == index, "each caller gets its own error")
                            return (index, false)
                        }
                    }
                }
                return try await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
            let found = try await store.read { reader in try tokens.map { try reader.tokens(lookup: $0.lookup).count } }
            #expect(found == tokens.indices.map { outcomes[$0] == true ? 1 : 0 })
            #expect(tokens.indices.allSatisfy { outcomes[$0] == ($0 % 3 != 1) })
        },

        Check("a write sees its own changes") { store in
            let seen = try await store.write { writer in
                let id = try writer.insertSubject(name: "cust-1", kekVersion: 1, dekVersion: 1, wrappedKey: [7])
                let token = makeToken(subjectID: id)
                try writer.insertToken(token)
                return (try writer.subject(named: "cust-1")?.id == id, try writer.tokens(lookup: token.lookup).count)
            }
            #expect(seen.0 && seen.1 == 1)
        },

        Check("concurrent read-modify-writes are serialized: none is lost") { store in
            let subject = try await addSubject(store, "cust-1", kek: 0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        try await store.write { writer in
                            let current = try #require(try writer.subject(named: subject.name))
                            try writer.updateWrappedKey(
                                subjectID: current.id,
                                kekVersion: current.kekVersion + 1,
                                wrappedKey: current.wrappedKey
                            )
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.read { try $0.subject(named: subject.name)?.kekVersion } == 40)
        },

        Check("a write waits for the write before it: it never runs beside an open one") { store in
            let subject = try await addSubject(store, "cust-1", kek: 0)
            let firstEntered = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let secondEntered = DispatchSemaphore(value: 0)
            let bump: @Sendable (any StoreWriter) throws -> Void = { writer in
                let current = try #require(try writer.subject(named: subject.name))
                try writer.updateWrappedKey(
                    subjectID: current.id,
                    kekVersion: current.kekVersion + 1,
                    wrappedKey: current.wrappedKey
                )
            }
            let first = Task {
                try await store.write { writer in
                    firstEntered.signal()
                    release.wait()
                    try bump(writer)
                }
            }
            await signalled(firstEntered)
            let second = Task {
                try await store.write { writer in
                    secondEntered.signal()
                    try bump(writer)
                }
            }
            // A store that serializes writes never starts the second here, and this bound just passes; one
            // that runs it beside the open write has it read the old version and lose an update.
            let ranBeside = await signalled(secondEntered, within: .milliseconds(500))
            release.signal()
            try await first.value
            try await second.value
            #expect(!ranBeside, "the second write ran while the first was open")
            #expect(try await store.read { try $0.subject(named: subject.name)?.kekVersion } == 2)
        },

        Check("a read sees one snapshot while writes commit") { store in
            let subject = try await addSubject(store, "cust-1")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        if index.isMultiple(of: 2) {
                            try await store.write { writer in
                                try writer.insertToken(makeToken(subjectID: subject.id))
                                let seq = (try writer.auditHead()?.seq ?? 0) + 1
                                try writer.appendAudit(AuditRow(seq: seq, prev: [], hash: [], body: "{}"))
                            }
                        } else {
                            let (stats, tokens, records) = try await store.read { reader in
                                (
                                    try reader.stats(), try reader.allTokens(after: nil, limit: 1_000).tokens.count,
                                    try reader.auditRows(from: 1, limit: 1_000).count
                                )
                            }
                            #expect(stats.tokens == tokens && stats.auditRecords == records && tokens == records)
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.read { try $0.stats().tokens } == 30)
        },

        Check("a read runs while a write is open and does not see its changes") { store in
            let entered = DispatchSemaphore(value: 0)
            let readDone = DispatchSemaphore(value: 0)
            let write = Task {
                try await store.write { writer -> Bool in
                    _ = try writer.insertSubject(name: "cust-open", kekVersion: 1, dekVersion: 1, wrappedKey: [1])
                    entered.signal()
                    // A bound only so that a store whose reads wait for writes fails instead of hanging; generous,
                    // because on a loaded machine the test's own task may wait a long time for a thread.
                    return readDone.wait(timeout: .now() + .seconds(600)) == .success
                }
            }
            await signalled(entered)
            let seen = try await store.read { try $0.subject(named: "cust-open") }
            readDone.signal()
            #expect(seen == nil, "an open write's changes are not visible")
            #expect(try await write.value, "the read ran while the write was open")
            #expect(try await store.read { try $0.subject(named: "cust-open") } != nil)
        },

        Check("a read cannot write, even through a cast") { store in
            let wrote = try await store.read { reader -> Bool in
                guard let writer = reader as? any StoreWriter else { return false }
                return (try? writer.insertSubject(name: "cust-x", kekVersion: 1, dekVersion: 1, wrappedKey: [1])) != nil
            }
            #expect(!wrote)
            #expect(try await store.read { try $0.stats().subjects } == 0)
        },
    ]
}

/// What a check compares before and after a write that must have changed nothing.
struct RowsSnapshot: Equatable {
    var stats: StoreStats
    var subjects: [SubjectRecord?]
    var tokens: [StoredToken]
    var audit: [AuditRow]
    var seals: [AuditSeal]
}

func snapshot(of reader: any StoreReader, subjects names: [String]) throws -> RowsSnapshot {
    RowsSnapshot(
        stats: try reader.stats(),
        subjects: try names.map { try reader.subject(named: $0) },
        tokens: try reader.allTokens(after: nil, limit: 10_000).tokens,
        audit: try reader.auditRows(from: 0, limit: 10_000),
        seals: try reader.auditSeals()
    )
}
