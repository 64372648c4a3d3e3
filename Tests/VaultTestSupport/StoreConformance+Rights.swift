import Dispatch
import Testing
import VaultCore

/// The customer's rights in the store: consent decisions (latest and history), restriction, subjects without
/// a data key, the audit index by subject, and retention's purge. A reveal judges consent and restriction
/// inside its write transaction, so a change committed between its read and its write must be reported
/// (`.changedSince`), as an erase is.
extension StoreConformance {
    static let rights: [Check] = [
        Check("a consent decision becomes the latest for its purpose and joins the history; erase takes both") {
            store in
            let subject = try await addSubject(store, "cust-1")
            let other = try await addSubject(store, "cust-2")
            let decisions = [
                ConsentRecord(subjectID: subject.id, purpose: "marketing", state: .granted, at: 10, source: "form-a"),
                ConsentRecord(
                    subjectID: subject.id,
                    purpose: "analytics",
                    state: .granted,
                    at: 11,
                    source: "form-a",
                    expiresAt: 500
                ),
                ConsentRecord(subjectID: subject.id, purpose: "marketing", state: .withdrawn, at: 12, source: "footer"),
                ConsentRecord(subjectID: other.id, purpose: "marketing", state: .granted, at: 13, source: "form-b"),
            ]
            for decision in decisions { try await store.write { try $0.recordConsent(decision) } }
            let read = try await store.read { reader in
                (
                    marketing: try reader.consent(subjectID: subject.id, purpose: "marketing"),
                    never: try reader.consent(subjectID: subject.id, purpose: "support"),
                    latest: try reader.consents(subjectID: subject.id),
                    history: try reader.consentHistory(subjectID: subject.id),
                    others: try reader.consentHistory(subjectID: other.id)
                )
            }
            #expect(read.marketing == decisions[2] && read.never == nil)
            #expect(read.latest == [decisions[1], decisions[2]], "one per purpose, by purpose name")
            #expect(read.history == Array(decisions[0...2]), "every decision, oldest first")
            #expect(read.others == [decisions[3]])
            #expect(decisions[1].permits(at: 499) && !decisions[1].permits(at: 500) && !decisions[2].permits(at: 0))
            _ = try await store.write { try $0.eraseSubject(named: "cust-1") }
            let after = try await store.read { reader in
                (
                    try reader.consents(subjectID: subject.id), try reader.consentHistory(subjectID: subject.id),
                    try reader.consents(subjectID: other.id),
                )
            }
            #expect(after.0.isEmpty && after.1.isEmpty && after.2 == [decisions[3]])
        },

        Check("a restriction is set and lifted on the subject, and every look-up of its tokens carries it") { store in
            let subject = try await addSubject(store, "cust-1")
            let found = makeToken(subjectID: subject.id)
            let carried = makeToken(subjectID: subject.id, addressing: .id)
            try await store.write { writer in
                try writer.insertToken(found)
                try writer.insertToken(carried)
            }
            let restriction = Restriction(since: 1_700_000_100, reason: "accuracy contested")
            func seen() async throws -> [Restriction?] {
                try await store.read { reader in
                    [
                        try reader.subject(named: "cust-1")?.restriction,
                        try reader.subject(id: subject.id)?.restriction,
                        try reader.tokens(lookup: found.lookup).first?.subject.restriction,
                        try reader.token(id: carried.id)?.subject.restriction,
                        try reader.allTokens(after: nil, limit: 10).tokens.first?.subject.restriction,
                    ]
                }
            }
            #expect(try await seen() == [nil, nil, nil, nil, nil])
            try await store.write { try $0.setRestriction(subjectID: subject.id, restriction) }
            #expect(try await seen() == Array(repeating: restriction, count: 5))
            try await store.write { try $0.setRestriction(subjectID: subject.id, nil) }
            #expect(try await seen() == [nil, nil, nil, nil, nil])
            #expect(try await store.read { try $0.subject(id: subject.id + 1_000) } == nil)
        },

        Check("a subject without a data key holds no key until given one, and only then") { store in
            let id = try await store.write { try $0.insertSubjectWithoutKey(name: "cust-new") }
            await #expect(throws: (any Error).self) {
                _ = try await store.write { try $0.insertSubjectWithoutKey(name: "cust-new") }
            }
            let keyless = try await store.read { try $0.subject(named: "cust-new") }
            #expect(keyless?.id == id && keyless?.hasDataKey == false)
            let stats = try await store.read { reader in
                (try reader.stats(), try reader.subjects(notWrappedBy: 99, after: 0, limit: 10))
            }
            #expect(stats.0.subjects == 1 && stats.0.dataKeysByKEK.isEmpty, "a subject without a key uses no KEK")
            #expect(stats.1.isEmpty, "nothing to rewrap")
            let wrapped = randomBytes(72)
            try await store.write {
                try $0.replaceDataKey(subjectID: id, kekVersion: 3, dekVersion: 2, wrappedKey: wrapped)
            }
            let keyed = try await store.read { try $0.subject(id: id) }
            #expect(keyed == SubjectRecord(id: id, name: "cust-new", kekVersion: 3, dekVersion: 2, wrappedKey: wrapped))
            await #expect(throws: (any Error).self, "a key in use is never replaced") {
                try await store.write {
                    try $0.replaceDataKey(subjectID: id, kekVersion: 3, dekVersion: 3, wrappedKey: randomBytes(72))
                }
            }
            #expect(try await store.read { try $0.subject(id: id)?.wrappedKey } == wrapped)
        },

        Check("audit records are found by the subjects their rows name, in order, and by nothing else") { store in
            let first = randomBytes(16)
            let second = randomBytes(16)
            try await store.write { writer in
                var prev = AuditChain.genesis
                for seq in Int64(1)...6 {
                    let body = "{\"seq\":\(seq)}"
                    let refs: [[UInt8]] =
                        switch seq {
                        case 1, 4: [first]
                        case 2: [first, second]
                        case 5: [second]
                        default: []
                        }
                    let hash = AuditChain.hash(prev: prev, body: body)
                    try writer.appendAudit(AuditRow(seq: seq, prev: prev, hash: hash, body: body, subjectRefs: refs))
                    prev = hash
                }
            }
            let found = try await store.read { reader in
                (
                    first: try reader.auditRows(concerning: first, after: 0, limit: 10).map(\.seq),
                    page: try reader.auditRows(concerning: first, after: 1, limit: 1).map(\.seq),
                    second: try reader.auditRows(concerning: second, after: 0, limit: 10).map(\.seq),
                    none: try reader.auditRows(concerning: randomBytes(16), after: 0, limit: 10).map(\.seq),
                    bodies: try reader.auditRows(concerning: second, after: 0, limit: 10).map(\.body)
                )
            }
            #expect(found.first == [1, 2, 4] && found.page == [2] && found.second == [2, 5] && found.none.isEmpty)
            let probes = try await store.read { reader in
                try [(Int64(2), first), (2, second), (3, first), (5, first), (5, second)].map {
                    try reader.auditRecord($0.0, isIndexedUnder: $0.1)
                }
            }
            #expect(probes == [true, true, false, false, true])
            #expect(found.bodies == ["{\"seq\":2}", "{\"seq\":5}"])
        },

        Check("a purge removes a kind's oldest tokens, keeps tombstones, and destroys keys left with no token") {
            store in
            let emptied = try await addSubject(store, "cust-emptied")
            let kept = try await addSubject(store, "cust-kept")
            func token(
                _ subject: SubjectRecord,
                _ kind: Kind,
                at createdAt: Int64,
                mode: TokenMode = .opaque
            )
                -> TokenRecord
            {
                var token = makeToken(subjectID: subject.id, kind: kind, mode: mode)
                token.createdAt = createdAt
                return token
            }
            let old = [
                token(emptied, .email, at: 100), token(emptied, .card, at: 101, mode: .formatPreserving),
                token(kept, .email, at: 102),
            ]
            let young = [token(kept, .email, at: 300), token(kept, .card, at: 100)]
            let answer = randomBytes(16)
            try await store.write { writer in
                for row in old + young { try writer.insertToken(row) }
                try writer.putIdempotency(
                    IdempotencyRecord(
                        keyHash: answer,
                        subjectID: emptied.id,
                        requestMAC: [1],
                        sealedResponse: [2],
                        createdAt: 1
                    )
                )
                try writer.recordConsent(
                    ConsentRecord(subjectID: emptied.id, purpose: "marketing", state: .granted, at: 1, source: "form")
                )
            }
            #expect(try await store.read { try $0.countTokens(kind: .email, createdBefore: 200) } == 2)
            #expect(try await store.read { try $0.countTokens(kind: .card, createdBefore: 101) } == 1)
            // Oldest first, `limit` at a time.
            #expect(
                try await store.write { try $0.purgeTokens(kind: .email, createdBefore: 200, limit: 1) }
                    == PurgedTokens(tokens: 1, dataKeys: 0, subjectIDs: [emptied.id])
            )
            #expect(try await store.read { try $0.tokens(lookup: old[0].lookup).isEmpty })
            #expect(try await store.read { try $0.tokens(lookup: old[2].lookup).count } == 1)
            #expect(
                try await store.write { try $0.purgeTokens(kind: .email, createdBefore: 200, limit: 10) }
                    == PurgedTokens(tokens: 1, dataKeys: 0, subjectIDs: [kept.id])
            )
            // The card at 101 is the emptied subject's last token; the kept subject's card (at 100) is older,
            // so a limit of one takes it first.
            #expect(
                try await store.write { try $0.purgeTokens(kind: .card, createdBefore: 200, limit: 10) }
                    == PurgedTokens(tokens: 2, dataKeys: 1, subjectIDs: [emptied.id, kept.id].sorted())
            )
            #expect(
                try await store.write { try $0.purgeTokens(kind: .card, createdBefore: 200, limit: 10) }
                    == PurgedTokens(tokens: 0, dataKeys: 0)
            )
            let after = try await store.read { reader in
                (
                    emptied: try reader.subject(named: "cust-emptied"),
                    kept: try reader.subject(named: "cust-kept"),
                    keptTokens: try reader.tokens(subjectID: kept.id).map(\.id),
                    answer: try reader.idempotency(keyHash: answer),
                    consent: try reader.consent(subjectID: emptied.id, purpose: "marketing")
                )
            }
            #expect(after.emptied?.hasDataKey == false, "a subject left with no tokens keeps no data key")
            #expect(after.kept == kept && after.keptTokens == [young[0].id])
            #expect(after.answer == nil && after.consent?.state == .granted, "the choice stays, the data goes")
            #expect(try await store.write { try $0.tokenExists(lookup: old[1].lookup) }, "a tombstone stays")
        },

        Check("readThenWrite reports a consent decision, a restriction and a purge committed since its read") {
            store in
            let subject = try await addSubject(store, "cust-1")
            let token = makeToken(subjectID: subject.id)
            try await store.write { try $0.insertToken(token) }
            let changes: [@Sendable (any StoreWriter) throws -> Void] = [
                {
                    try $0.recordConsent(
                        ConsentRecord(
                            subjectID: subject.id,
                            purpose: "marketing",
                            state: .withdrawn,
                            at: 1,
                            source: "f"
                        )
                    )
                },
                { try $0.setRestriction(subjectID: subject.id, Restriction(since: 1, reason: "r")) },
                { try $0.setRestriction(subjectID: subject.id, nil) },
                { _ = try $0.purgeTokens(kind: .email, createdBefore: .max, limit: 10) },
            ]
            for (index, change) in changes.enumerated() {
                let changed = DispatchSemaphore(value: 0)
                let (snapshot, landed) = try await store.readThenWrite(
                    items: 1_000,
                    read: { reader in
                        _ = try reader.tokens(lookup: token.lookup)
                        Task {
                            _ = try? await store.write(change)
                            changed.signal()
                        }
                        // As in the erase check: where the read runs inside the write's job, the change waits.
                        return changed.wait(timeout: .now() + .seconds(1)) == .success
                    },
                    write: { _, landed, snapshot in (snapshot, landed) }
                )
                if landed {
                    #expect(snapshot == .changedSince, "change \(index) landed between the read and the write")
                } else {
                    await signalled(changed)
                }
            }
        },
        Check("renewing a token moves its creation time, and only that, and only its own") { store in
            let subject = try await addSubject(store, "cust-1")
            let renewed = makeToken(subjectID: subject.id)
            let other = makeToken(subjectID: subject.id)
            try await store.write { writer in
                try writer.insertToken(renewed)
                try writer.insertToken(other)
            }
            let before = renewed.createdAt + 1
            #expect(try await store.read { try $0.countTokens(kind: .email, createdBefore: before) } == 2)
            try await store.write { try $0.renewToken(id: renewed.id, createdAt: before + 100) }
            try await store.write { try $0.renewToken(id: Int64.max, createdAt: 1) }
            let rows = try await store.read { try $0.tokens(subjectID: subject.id) }
            var expected = renewed
            expected.createdAt = before + 100
            #expect(rows == [expected, other].sorted { $0.id < $1.id })
            #expect(try await store.read { try $0.countTokens(kind: .email, createdBefore: before) } == 1)
        },
    ]
}
