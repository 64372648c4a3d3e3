import Testing
import VaultCore
import VaultTestSupport

@testable import VaultSQLite

/// Every `StoreReader` and `StoreWriter` method, through the public `read` and `write`.
@Suite struct AccessTests {
    @Test func subjectsInsertFindAndRewrap() async throws {
        try await withStore { store, _ in
            let alice = try await addSubject(store, "cust-alice", kek: 1)
            let bob = try await addSubject(store, "cust-bob", kek: 1)
            #expect(bob.id > alice.id)
            #expect(try await store.read { try $0.subject(named: "cust-alice") } == alice)
            #expect(try await store.read { try $0.subject(named: "nobody") } == nil)

            let duplicate = await #expect(throws: VaultError.self) {
                try await store.write {
                    try $0.insertSubject(name: "cust-alice", kekVersion: 1, dekVersion: 1, wrappedKey: [1])
                }
            }
            #expect(duplicate?.code == .storage)

            let rewrapped = randomBytes(72)
            try await store.write { try $0.updateWrappedKey(subjectID: alice.id, kekVersion: 2, wrappedKey: rewrapped) }
            let after = try await store.read { try $0.subject(named: "cust-alice") }
            #expect(after?.kekVersion == 2)
            #expect(after?.wrappedKey == rewrapped)
            // A subject erased meanwhile has nothing to rewrap: not an error.
            try await store.write { try $0.updateWrappedKey(subjectID: 9_999, kekVersion: 2, wrappedKey: rewrapped) }
        }
    }

    @Test func subjectsNotWrappedByAVersionPageById() async throws {
        try await withStore { store, _ in
            var old: [Int64] = []
            for index in 0..<7 {
                let subject = try await addSubject(store, "cust-\(index)", kek: index % 3 == 0 ? 2 : 1)
                if subject.kekVersion != 2 { old.append(subject.id) }
            }
            let first = try await store.read { try $0.subjects(notWrappedBy: 2, after: 0, limit: 3) }
            let rest = try await store.read { try $0.subjects(notWrappedBy: 2, after: first.last!.id, limit: 3) }
            let end = try await store.read { try $0.subjects(notWrappedBy: 2, after: rest.last!.id, limit: 3) }
            #expect(first.map(\.id) + rest.map(\.id) == old)
            #expect(end.isEmpty)
            #expect((first + rest).allSatisfy { $0.kekVersion == 1 })
        }
    }

    @Test func tokensInsertAndLookUpWithTheirSubject() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let limits = TokenLimits(purposes: ["support", "fraud-check"], expiresAt: 1_800_000_000, maxReveals: 3)
            let record = makeToken(subjectID: subject.id, kind: .card, mode: .formatPreserving, limits: limits)
            try await store.write { try $0.insertToken(record) }

            let found = try await store.read { try $0.tokens(lookup: record.lookup) }
            #expect(found == [StoredToken(token: record, subject: subject)])
            #expect(try await store.read { try $0.tokens(lookup: randomBytes(16)) }.isEmpty)
            #expect(try await store.write { try $0.tokenExists(lookup: record.lookup) })
            #expect(try await store.write { try $0.tokenExists(lookup: randomBytes(16)) } == false)
        }
    }

    @Test func purposesKeepNilEmptyAndListApart() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            for purposes in [nil, [], ["billing"], ["a-1", "b", "c-2-3"]] as [[String]?] {
                let record = makeToken(subjectID: subject.id, limits: TokenLimits(purposes: purposes))
                try await store.write { try $0.insertToken(record) }
                let found = try await store.read { try $0.tokens(lookup: record.lookup) }
                #expect(found.first?.token.limits.purposes == purposes)
            }
            let bad = makeToken(subjectID: subject.id, limits: TokenLimits(purposes: ["has,comma"]))
            let error = await #expect(throws: VaultError.self) { try await store.write { try $0.insertToken(bad) } }
            #expect(error?.code == .invalidRequest)
        }
    }

    @Test func aSharedLookupListsSubjectsOldestFirst() async throws {
        try await withStore { store, _ in
            let lookup = randomBytes(16)
            var subjects: [SubjectRecord] = []
            for name in ["c", "a", "b"] {
                let subject = try await addSubject(store, "cust-\(name)")
                subjects.append(subject)
                let token = makeToken(subjectID: subject.id, lookup: lookup, mode: .deterministic)
                try await store.write { try $0.insertToken(token) }
            }
            let found = try await store.read { try $0.tokens(lookup: lookup) }
            #expect(found.map(\.subject.name) == ["cust-c", "cust-a", "cust-b"])
            // The same lookup twice for one subject is refused.
            let oldest = subjects[0].id
            await #expect(throws: VaultError.self) {
                try await store.write { try $0.insertToken(makeToken(subjectID: oldest, lookup: lookup)) }
            }
        }
    }

    @Test func aTokenNeedsAnExistingSubject() async throws {
        try await withStore { store, _ in
            await #expect(throws: VaultError.self) {
                try await store.write { try $0.insertToken(makeToken(subjectID: 42)) }
            }
        }
    }

    @Test func claimRevealCountsUpToTheLimit() async throws {
        try await withStore { store, _ in
            let subject = try await addSubject(store, "cust-1")
            let limited = makeToken(subjectID: subject.id, limits: TokenLimits(maxReveals: 2))
            let unlimited = makeToken(subjectID: subject.id)
            try await store.write {
                try $0.insertToken(limited)
                try $0.insertToken(unlimited)
            }
            var claims: [Bool] = []
            for _ in 0..<3 {
                claims.append(try await store.write { try $0.claimReveal(tokenID: limited.id) })
            }
            #expect(claims == [true, true, false])
            #expect(try await store.read { try $0.tokens(lookup: limited.lookup) }.first?.token.reveals == 2)
            #expect(try await store.read { try $0.tokens(lookup: unlimited.lookup) }.first?.token.reveals == 0)
            #expect(try await store.write { try $0.claimReveal(tokenID: unlimited.id) })
            #expect(try await store.write { try $0.claimReveal(tokenID: 999_999_999) } == false)
        }
    }

    @Test func statsCountRowsAndKeysPerKEK() async throws {
        try await withStore { store, _ in
            #expect(
                try await store.read { try $0.stats() }
                    == StoreStats(subjects: 0, tokens: 0, auditRecords: 0, dataKeysByKEK: [:])
            )
            let one = try await addSubject(store, "cust-1", kek: 1)
            _ = try await addSubject(store, "cust-2", kek: 1)
            _ = try await addSubject(store, "cust-3", kek: 4)
            try await store.write { writer in
                for _ in 0..<5 { try writer.insertToken(makeToken(subjectID: one.id)) }
                try writer.appendAudit(AuditRow(seq: 1, prev: [0], hash: [1], body: "{}"))
            }
            #expect(
                try await store.read { try $0.stats() }
                    == StoreStats(subjects: 3, tokens: 5, auditRecords: 1, dataKeysByKEK: [1: 2, 4: 1])
            )
        }
    }

    @Test func auditChainAppendsInOrderAndRefusesAFork() async throws {
        try await withStore { store, _ in
            #expect(try await store.write { try $0.auditHead() } == nil)
            let rows = (1...5).map {
                AuditRow(seq: Int64($0), prev: randomBytes(32), hash: randomBytes(32), body: "{\"n\":\($0)}")
            }
            for row in rows { try await store.write { try $0.appendAudit(row) } }
            #expect(try await store.write { try $0.auditHead() } == rows.last)
            #expect(try await store.read { try $0.auditRows(from: 2, limit: 3) } == Array(rows[1...3]))
            #expect(try await store.read { try $0.auditRows(from: 5, limit: 10) } == [rows[4]])
            let fork = AuditRow(seq: 3, prev: [], hash: [], body: "{}")
            await #expect(throws: VaultError.self) { try await store.write { try $0.appendAudit(fork) } }
        }
    }

    @Test func auditSealsAppendAndList() async throws {
        try await withStore { store, _ in
            #expect(try await store.write { try $0.lastAuditSeal() } == nil)
            let seals = [10, 20, 30].map {
                AuditSeal(seq: Int64($0), hash: randomBytes(32), signature: randomBytes(64), at: Int64($0))
            }
            for seal in seals.reversed() { try await store.write { try $0.appendAuditSeal(seal) } }
            #expect(try await store.read { try $0.auditSeals() } == seals)
            #expect(try await store.write { try $0.lastAuditSeal() } == seals.last)
        }
    }

    @Test func idempotencyRecordsStoreAndReplace() async throws {
        try await withStore { store, _ in
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
        }
    }

    @Test func allTokensPagesThroughEveryRowOnce() async throws {
        try await withStore { store, _ in
            var expected: [TokenRecord] = []
            for index in 0..<5 {
                let subject = try await addSubject(store, "cust-\(index)")
                let tokens = (0..<5).map { _ in makeToken(subjectID: subject.id) }
                try await store.write { writer in for token in tokens { try writer.insertToken(token) } }
                expected += tokens
            }
            var seen: [StoredToken] = []
            var cursor: TokenCursor? = nil
            var pages = 0
            repeat {
                let page = try await store.read { [cursor] in try $0.allTokens(after: cursor, limit: 10) }
                seen += page.tokens
                cursor = page.next
                pages += 1
            } while cursor != nil
            #expect(pages == 3)
            #expect(seen.count == 25)
            #expect(seen.map(\.token) == expected, "every row once, by id (here the order of insertion)")
            #expect(seen.allSatisfy { $0.subject.id == $0.token.subjectID && $0.subject.name.hasPrefix("cust-") })
        }
    }

    @Test func aWriteSeesItsOwnChanges() async throws {
        try await withStore { store, _ in
            let found = try await store.write { writer in
                let id = try writer.insertSubject(name: "cust-1", kekVersion: 1, dekVersion: 1, wrappedKey: [7])
                let token = makeToken(subjectID: id)
                try writer.insertToken(token)
                return try writer.tokens(lookup: token.lookup).count
            }
            #expect(found == 1)
        }
    }

    @Test func aReadCannotWrite() async throws {
        try await withStore { store, _ in
            let error = await #expect(throws: VaultError.self) {
                try await store.read { reader in
                    // Even a cast to the writer protocol cannot change anything on a reader connection.
                    try (reader as! any StoreWriter).insertSubject(
                        name: "x",
                        kekVersion: 1,
                        dekVersion: 1,
                        wrappedKey: [1]
                    )
                }
            }
            #expect(error?.code == .storage)
            let subjects = try await store.read { try $0.stats().subjects }
            #expect(subjects == 0)
        }
    }

    @Test func errorsNeverCarryBoundValues() async throws {
        try await withStore { store, _ in
            let secretName = "cust-7f3a9c-unique-name"
            _ = try await addSubject(store, secretName)
            let error = await #expect(throws: VaultError.self) {
                try await store.write {
                    try $0.insertSubject(name: secretName, kekVersion: 1, dekVersion: 1, wrappedKey: [1])
                }
            }
            #expect(error.map { !"\($0)".contains(secretName) } == true)
            #expect(error?.hint != nil)
        }
    }
}
