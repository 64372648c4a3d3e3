import Testing
import VaultCore

/// `eraseSubject` and `writeAndScrub`: the subject goes with everything that belongs to it, and a
/// format-preserving token string it held is never issued again.
extension StoreConformance {
    static let erasure: [Check] = [
        Check("erase deletes the subject, its tokens and its idempotency records, and nothing of anyone else") {
            store in
            let gone = try await addSubject(store, "cust-gone")
            let kept = try await addSubject(store, "cust-kept")
            let goneTokens = (0..<3).map { _ in makeToken(subjectID: gone.id) }
            let keptTokens = (0..<2).map { _ in makeToken(subjectID: kept.id) }
            let carried = makeToken(subjectID: gone.id, addressing: .id)
            // A deterministic lookup both subjects share: only the erased subject's row may go.
            let shared = randomBytes(16)
            let goneKey = randomBytes(32)
            let keptKey = randomBytes(32)
            try await store.write { writer in
                for token in goneTokens + keptTokens + [carried] { try writer.insertToken(token) }
                try writer.insertToken(makeToken(subjectID: gone.id, lookup: shared, mode: .deterministic))
                try writer.insertToken(makeToken(subjectID: kept.id, lookup: shared, mode: .deterministic))
                for (key, subject) in [(goneKey, gone), (keptKey, kept)] {
                    try writer.putIdempotency(
                        IdempotencyRecord(
                            keyHash: key,
                            subjectID: subject.id,
                            requestMAC: [1],
                            sealedResponse: [2],
                            createdAt: 1
                        )
                    )
                }
            }
            #expect(try await store.write { try $0.eraseSubject(named: "cust-gone") } == 5)
            #expect(try await store.write { try $0.eraseSubject(named: "cust-gone") } == 0)
            #expect(try await store.write { try $0.eraseSubject(named: "nobody") } == 0)
            let after = try await store.read { reader in
                (
                    gone: try reader.subject(named: "cust-gone"),
                    kept: try reader.subject(named: "cust-kept"),
                    goneRows: try goneTokens.map { try reader.tokens(lookup: $0.lookup).count },
                    keptRows: try keptTokens.map { try reader.tokens(lookup: $0.lookup).count },
                    carried: try reader.token(id: carried.id),
                    shared: try reader.tokens(lookup: shared).map(\.subject.name),
                    keys: [
                        try reader.idempotency(keyHash: goneKey) == nil,
                        try reader.idempotency(keyHash: keptKey) == nil,
                    ],
                    stats: try reader.stats()
                )
            }
            #expect(after.gone == nil && after.kept == kept && after.carried == nil)
            #expect(after.goneRows == [0, 0, 0] && after.keptRows == [1, 1])
            #expect(after.shared == ["cust-kept"])
            #expect(after.keys == [true, false])
            #expect(after.stats == StoreStats(subjects: 1, tokens: 3, auditRecords: 0, dataKeysByKEK: [1: 1]))
        },

        Check("erase keeps a tombstone of each format-preserving lookup, and only of those") { store in
            let gone = try await addSubject(store, "cust-gone")
            let other = try await addSubject(store, "cust-other")
            let preserving = makeToken(subjectID: gone.id, kind: .card, mode: .formatPreserving)
            let deterministic = makeToken(subjectID: gone.id, mode: .deterministic)
            let opaque = makeToken(subjectID: gone.id)
            try await store.write { writer in
                for token in [preserving, deterministic, opaque] { try writer.insertToken(token) }
            }
            #expect(try await store.write { try $0.eraseSubject(named: gone.name) } == 3)
            let taken = try await store.write { writer in
                try [preserving, deterministic, opaque].map { try writer.tokenExists(lookup: $0.lookup) }
            }
            #expect(taken == [true, false, false])
            // The store itself refuses the string again, even from a caller that skipped tokenExists.
            await #expect(throws: (any Error).self) {
                try await store.write { writer in
                    try writer.insertToken(
                        makeToken(subjectID: other.id, lookup: preserving.lookup, kind: .card, mode: .formatPreserving)
                    )
                }
            }
            // A deterministic token is a function of the value, shared by design: it may come back.
            try await store.write { writer in
                try writer.insertToken(
                    makeToken(subjectID: other.id, lookup: deterministic.lookup, mode: .deterministic)
                )
            }
            #expect(
                try await store.read { try $0.tokens(lookup: deterministic.lookup).map(\.subject.id) } == [other.id]
            )
        },

        Check("writeAndScrub commits like write and, with no other reader, finishes its scrub") { store in
            let gone = try await addSubject(store, "cust-gone")
            try await store.write { try $0.insertToken(makeToken(subjectID: gone.id)) }
            let (erased, scrubbed) = try await store.writeAndScrub { try $0.eraseSubject(named: gone.name) }
            #expect(erased == 1 && scrubbed)
            #expect(try await store.read { try $0.stats() }.tokens == 0)
            await #expect(throws: ThrownOnPurpose.self) {
                _ = try await store.writeAndScrub { writer in
                    _ = try writer.insertSubject(name: "cust-new", kekVersion: 1, dekVersion: 1, wrappedKey: [1])
                    throw ThrownOnPurpose()
                }
            }
            #expect(try await store.read { try $0.subject(named: "cust-new") } == nil)
        },
    ]
}
