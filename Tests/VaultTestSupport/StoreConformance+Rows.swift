import Testing
import VaultCore

/// Subjects and tokens: what is stored comes back as it was, found the way the contract says.
extension StoreConformance {
    static let subjects: [Check] = [
        Check("subjects are found by name, get rising ids, and a taken name is refused") { store in
            let alice = try await addSubject(store, "cust-alice")
            let bob = try await addSubject(store, "cust-bob", kek: 3)
            #expect(bob.id > alice.id)
            #expect(try await store.read { try $0.subject(named: "cust-alice") } == alice)
            #expect(try await store.read { try $0.subject(named: "cust-bob") } == bob)
            #expect(try await store.read { try $0.subject(named: "nobody") } == nil)
            await #expect(throws: (any Error).self) {
                try await store.write {
                    try $0.insertSubject(name: "cust-alice", kekVersion: 1, dekVersion: 1, wrappedKey: [1])
                }
            }
            #expect(try await store.read { try $0.subject(named: "cust-alice") } == alice)
            #expect(try await store.read { try $0.stats().subjects } == 2)
        },

        Check("updateWrappedKey replaces the key and its KEK version together; an unknown subject is left alone") {
            store in
            let subject = try await addSubject(store, "cust-1")
            let rewrapped = randomBytes(72)
            try await store.write {
                try $0.updateWrappedKey(subjectID: subject.id, kekVersion: 2, wrappedKey: rewrapped)
            }
            var expected = subject
            expected.kekVersion = 2
            expected.wrappedKey = rewrapped
            #expect(try await store.read { try $0.subject(named: subject.name) } == expected)
            try await store.write { try $0.updateWrappedKey(subjectID: 9_999, kekVersion: 2, wrappedKey: rewrapped) }
            #expect(try await store.read { try $0.stats().subjects } == 1)
            #expect(try await store.read { try $0.subjectExists(id: 9_999) } == false)
        },

        Check("subjects not wrapped by a KEK version are listed by id, a page at a time") { store in
            var old: [Int64] = []
            for index in 0..<7 {
                let subject = try await addSubject(store, "cust-\(index)", kek: index % 3 == 0 ? 2 : 1)
                if subject.kekVersion != 2 { old.append(subject.id) }
            }
            let first = try await store.read { try $0.subjects(notWrappedBy: 2, after: 0, limit: 3) }
            let lastOfFirst = try #require(first.last).id
            let rest = try await store.read { try $0.subjects(notWrappedBy: 2, after: lastOfFirst, limit: 3) }
            let lastOfRest = try #require(rest.last).id
            let end = try await store.read { try $0.subjects(notWrappedBy: 2, after: lastOfRest, limit: 3) }
            #expect(first.map(\.id) + rest.map(\.id) == old)
            #expect(end.isEmpty)
            #expect((first + rest).allSatisfy { $0.kekVersion == 1 })
        },

        Check("an erased subject's id is never given to another, and subjectExists says it is gone") { store in
            let gone = try await addSubject(store, "cust-gone")
            #expect(try await store.read { try $0.subjectExists(id: gone.id) })
            #expect(try await store.write { try $0.eraseSubject(named: gone.name) } == 0)
            #expect(try await store.read { try $0.subjectExists(id: gone.id) } == false)
            let again = try await addSubject(store, "cust-gone")
            #expect(again.id > gone.id)
        },
    ]

    static let tokens: [Check] = [
        Check("a token is found by the id it carries or by its lookup, never both, with its subject and limits") {
            store in
            let subject = try await addSubject(store, "cust-1")
            let limits = TokenLimits(purposes: ["support", "fraud-check"], expiresAt: 1_800_000_000, maxReveals: 3)
            let (carried, byLookup) = try await store.write { writer in
                let carried = makeToken(subjectID: subject.id, id: try writer.nextTokenID(), addressing: .id)
                let byLookup = makeToken(
                    subjectID: subject.id,
                    id: try writer.nextTokenID(),
                    kind: .card,
                    mode: .formatPreserving,
                    limits: limits
                )
                try writer.insertToken(carried)
                try writer.insertToken(byLookup)
                return (carried, byLookup)
            }
            let found = try await store.read { reader in
                (
                    try reader.token(id: carried.id), try reader.token(id: byLookup.id),
                    try reader.tokens(lookup: carried.lookup), try reader.tokens(lookup: byLookup.lookup),
                    try reader.token(id: 987_654_321), try reader.tokens(lookup: randomBytes(16))
                )
            }
            #expect(found.0 == StoredToken(token: carried, subject: subject))
            #expect(found.1 == nil, "a row found by lookup is not found by id")
            #expect(found.2.isEmpty, "a row found by id is not found by lookup")
            #expect(found.3 == [StoredToken(token: byLookup, subject: subject)])
            #expect(found.4 == nil && found.5.isEmpty)
        },

        Check("tokens(ids:) answers token(id:) for many ids at once: rows found by id only, in any number") {
            store in
            let first = try await addSubject(store, "cust-1")
            let second = try await addSubject(store, "cust-2")
            // More than one batch of PostgreSQL's pipelined look-ups (PostgresConnection.maxQueriesInFlight).
            let carried = try await store.write { writer in
                try (0..<300).map { index in
                    let row = makeToken(
                        subjectID: index % 3 == 0 ? second.id : first.id,
                        id: try writer.nextTokenID(),
                        addressing: .id
                    )
                    try writer.insertToken(row)
                    return row
                }
            }
            let byLookup = try await store.write { writer in
                let row = makeToken(subjectID: first.id, id: try writer.nextTokenID())
                try writer.insertToken(row)
                return row
            }
            let asked = carried.map(\.id).reversed() + [byLookup.id, 987_654_321, carried[7].id]
            let found = try await store.read { try $0.tokens(ids: Array(asked)) }
            #expect(found.count == carried.count)
            #expect(carried.allSatisfy { found[$0.id]?.token == $0 })
            #expect(found[carried[0].id]?.subject == second && found[carried[1].id]?.subject == first)
            #expect(found[byLookup.id] == nil, "a row found by lookup is not found by id")
            #expect(try await store.read { try $0.tokens(ids: []) }.isEmpty)
            #expect(
                try await store.read { try $0.tokens(ids: [carried[5].id]) } == [
                    carried[5].id: StoredToken(token: carried[5], subject: first)
                ]
            )
        },

        Check("limits come back as stored: no purposes, none, or a list") { store in
            let subject = try await addSubject(store, "cust-1")
            for purposes in [nil, [], ["billing"], ["a-1", "b", "c-2-3"]] as [[Purpose]?] {
                let record = makeToken(subjectID: subject.id, limits: TokenLimits(purposes: purposes, expiresAt: 5))
                try await store.write { try $0.insertToken(record) }
                let found = try await store.read { try $0.tokens(lookup: record.lookup) }
                #expect(found.first?.token.limits == record.limits)
            }
        },

        Check("a lookup shared by several subjects lists them oldest first; one subject holds it once") { store in
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
            let oldest = subjects[0].id
            await #expect(throws: (any Error).self) {
                try await store.write { try $0.insertToken(makeToken(subjectID: oldest, lookup: lookup)) }
            }
            #expect(try await store.read { try $0.tokens(lookup: lookup).count } == 3)
        },

        Check("a token needs an existing subject") { (store: any VaultStore) async throws in
            await #expect(throws: (any Error).self) {
                try await store.write { try $0.insertToken(makeToken(subjectID: 42)) }
            }
            #expect(try await store.read { try $0.stats().tokens } == 0)
        },

        Check("tokenExists is true for a live lookup row and false for a row found by id or an unknown lookup") {
            store in
            let subject = try await addSubject(store, "cust-1")
            let byLookup = makeToken(subjectID: subject.id)
            let carried = makeToken(subjectID: subject.id, addressing: .id)
            try await store.write {
                try $0.insertToken(byLookup)
                try $0.insertToken(carried)
            }
            let exists = try await store.write { writer in
                try [byLookup.lookup, carried.lookup, randomBytes(16)].map { try writer.tokenExists(lookup: $0) }
            }
            #expect(exists == [true, false, false])
        },

        Check("nextTokenID rises within a write and across writes, above every id ever committed") { store in
            let subject = try await addSubject(store, "cust-1")
            let first = try await store.write { writer in
                let ids = [try writer.nextTokenID(), try writer.nextTokenID(), try writer.nextTokenID()]
                try writer.insertToken(makeToken(subjectID: subject.id, id: ids[0], addressing: .id))
                return ids
            }
            #expect(first[0] < first[1] && first[1] < first[2], "an id reserved in this write is not handed out again")
            let large = first[2] + 1_000
            try await store.write { try $0.insertToken(makeToken(subjectID: subject.id, id: large)) }
            let afterLarge = try await store.write { try $0.nextTokenID() }
            #expect(afterLarge > large)
            #expect(try await store.write { try $0.eraseSubject(named: subject.name) } == 2)
            let afterErase = try await store.write { try $0.nextTokenID() }
            #expect(afterErase > large, "an erased row's id never comes back")
        },

        Check("allTokens pages through every row once, by id, each with its subject") { store in
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
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen.map(\.token) == expected.sorted { $0.id < $1.id })
            #expect(seen.allSatisfy { $0.subject.id == $0.token.subjectID && $0.subject.name.hasPrefix("cust-") })
        },

        Check("stats count subjects, tokens, audit records and data keys per KEK version") { store in
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
        },
    ]
}
