import Testing
import VaultCore

/// `claimReveal`: a token with `maxReveals` N is revealed at most N times, however many callers race.
extension StoreConformance {
    static let reveals: [Check] = [
        Check("claimReveal counts up to maxReveals, always grants a token without one, and refuses an unknown id") {
            store in
            let subject = try await addSubject(store, "cust-1")
            let limited = makeToken(subjectID: subject.id, limits: TokenLimits(maxReveals: 2))
            let unlimited = makeToken(subjectID: subject.id)
            try await store.write {
                try $0.insertToken(limited)
                try $0.insertToken(unlimited)
            }
            var claims: [Bool] = []
            for _ in 0..<3 { claims.append(try await store.write { try $0.claimReveal(tokenID: limited.id) }) }
            #expect(claims == [true, true, false])
            #expect(try await store.write { try $0.claimReveal(tokenID: unlimited.id) })
            #expect(try await store.write { try $0.claimReveal(tokenID: 999_999_999) } == false)
            let counted = try await store.read { reader in
                try [limited, unlimited].map { try reader.tokens(lookup: $0.lookup).first?.token.reveals }
            }
            #expect(counted[0] == 2, "the refused claim is not counted")
            #expect(counted[1] != nil)
        },

        Check("claimReveal is exact under concurrency, within one write and across many") { store in
            let subject = try await addSubject(store, "cust-1")
            let token = makeToken(subjectID: subject.id, limits: TokenLimits(maxReveals: 5))
            try await store.write { try $0.insertToken(token) }
            let granted = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await store.write { writer in
                            // Some callers claim twice in one write: the second sees the first.
                            let claims = index.isMultiple(of: 5) ? 2 : 1
                            return try (0..<claims).filter { _ in try writer.claimReveal(tokenID: token.id) }.count
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(granted == 5)
            #expect(try await store.read { try $0.tokens(lookup: token.lookup) }.first?.token.reveals == 5)
        },

        Check("a claim in a write that throws is not counted") { store in
            let subject = try await addSubject(store, "cust-1")
            let token = makeToken(subjectID: subject.id, limits: TokenLimits(maxReveals: 1))
            try await store.write { try $0.insertToken(token) }
            await #expect(throws: ThrownOnPurpose.self) {
                try await store.write { writer in
                    #expect(try writer.claimReveal(tokenID: token.id))
                    throw ThrownOnPurpose()
                }
            }
            #expect(try await store.write { try $0.claimReveal(tokenID: token.id) })
            #expect(try await store.read { try $0.tokens(lookup: token.lookup) }.first?.token.reveals == 1)
        },
    ]
}
