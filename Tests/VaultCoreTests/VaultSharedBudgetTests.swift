import Testing
import VaultTestSupport

@testable import VaultCore

/// `reveals_per_minute` and `misses_per_minute` on a store several processes share: several `Vault`s on one
/// in-memory store that says it is shared stand in for several servers on one database. Their budgets live
/// in the store and are taken in each call's write, so the limits hold across all of them, not per vault.
/// The clock never moves unless a test moves it, so every count below is exact.
@Suite struct VaultSharedBudgetTests {
    static let shared = TestStoreBackend(create: { _ in InMemoryVaultStore(sharedByProcesses: true) })

    /// `t.vault` and two more vaults on its store: three "servers".
    static func servers(_ t: TestVault) -> [Vault] {
        [t.vault] + (1..<3).map { _ in t.vault(deciding: t.vault.policy) }
    }

    /// What one detokenize call came to.
    enum Outcome: Equatable {
        case answered([RevealItem])
        case rateLimited(VaultError.Field?)
        case failed(VaultError.Code)
    }

    static func detokenize(_ vault: Vault, _ tokens: [String], as caller: Caller) async -> Outcome {
        do {
            return .answered(try await vault.detokenize(tokens, purpose: "view", caller: caller))
        } catch {
            guard error.code == .rateLimited else { return .failed(error.code) }
            #expect((error.retryAfterMilliseconds ?? 0) > 0, "a rate refusal says when to retry")
            return .rateLimited(error.field)
        }
    }

    /// `calls` detokenize calls of `tokens`, all at once, spread round-robin over `vaults`.
    static func race(_ calls: Int, _ tokens: [String], over vaults: [Vault], as caller: Caller) async -> [Outcome] {
        await withTaskGroup(of: Outcome.self) { group in
            for index in 0..<calls {
                group.addTask { await detokenize(vaults[index % vaults.count], tokens, as: caller) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    static func detokenizeRecords(_ t: TestVault) async throws -> [AuditEvent] {
        try await t.auditRows().compactMap { AuditEvent.decode($0.body) }.filter { $0.event == .detokenize }
    }

    @Test func revealsPerMinuteHoldsAcrossVaultsSharingTheStore() async throws {
        try await withVault(serviceYAML(limits: "    limits: { reveals_per_minute: 10 }"), on: Self.shared) { t in
            let svc = try t.caller(UID.service)
            let token = try await t.tokenize(.text, ["shared budget"], subject: "cust-1", as: svc)[0]
            let outcomes = await Self.race(30, [token], over: Self.servers(t), as: svc)
            #expect(outcomes.filter { $0 == .answered([.value("shared budget", .plain)]) }.count == 10)
            #expect(outcomes.filter { $0 == .rateLimited(.revealsPerMinute) }.count == 20)
            let records = try await Self.detokenizeRecords(t)
            #expect(records.filter { $0.outcome == .ok && $0.items?.first?.decision == .revealed(.plain) }.count == 10)
            #expect(records.filter { $0.outcome == .refused && $0.reason == "rate limited" }.count == 20)
            // Another identity's bucket is its own.
            let reader = try t.caller(UID.reader)
            #expect(
                await Self.detokenize(Self.servers(t)[2], [token], as: reader)
                    == .answered([.value("shared budget", .plain)])
            )
        }
    }

    @Test func theMissBudgetHoldsAcrossVaultsSharingTheStore() async throws {
        try await withVault(serviceYAML(limits: "    limits: { misses_per_minute: 5 }"), on: Self.shared) { t in
            let svc = try t.caller(UID.service)
            let good = try await t.tokenize(.text, ["known"], subject: "cust-1", as: svc)[0]
            let vaults = Self.servers(t)
            let outcomes = await Self.race(15, ["tok_not-a-token-we-issued"], over: vaults, as: svc)
            #expect(outcomes.filter { $0 == .answered([.error(.notFound)]) }.count == 5)
            #expect(outcomes.filter { $0 == .rateLimited(.missesPerMinute) }.count == 10)
            // The refusals were charged: the identity is in debt on every vault, so even a call without a miss
            // is refused until the bucket refills.
            for vault in vaults {
                #expect(await Self.detokenize(vault, [good], as: svc) == .rateLimited(.missesPerMinute))
            }
            let records = try await Self.detokenizeRecords(t)
            #expect(records.filter { $0.outcome == .refused && $0.reason == "miss budget" }.count == 13)
        }
    }

    /// 10 a minute is one every 6 s, on the wall clock every vault reads: what one vault took, another cannot
    /// take again, and what refilled is there for whichever asks first.
    @Test func theSharedBucketRefillsOnTheWallClock() async throws {
        let clock = TestClock()
        try await withVault(
            serviceYAML(limits: "    limits: { reveals_per_minute: 10 }"),
            clock: clock,
            on: Self.shared
        ) {
            t in
            let svc = try t.caller(UID.service)
            let tokens = try await t.tokenize(.text, (0..<10).map { "value \($0)" }, subject: "cust-1", as: svc)
            let vaults = Self.servers(t)
            #expect(
                await Self.detokenize(vaults[0], tokens, as: svc)
                    == .answered(tokens.indices.map { .value("value \($0)", .plain) })
            )
            #expect(await Self.detokenize(vaults[1], [tokens[0]], as: svc) == .rateLimited(.revealsPerMinute))
            clock.advance(by: 5)
            #expect(await Self.detokenize(vaults[2], [tokens[0]], as: svc) == .rateLimited(.revealsPerMinute))
            clock.advance(by: 1)
            #expect(await Self.detokenize(vaults[2], [tokens[0]], as: svc) == .answered([.value("value 0", .plain)]))
            #expect(await Self.detokenize(vaults[1], [tokens[0]], as: svc) == .rateLimited(.revealsPerMinute))
            clock.advance(by: 3600)
            #expect(
                await Self.detokenize(vaults[1], tokens, as: svc)
                    == .answered(tokens.indices.map { .value("value \($0)", .plain) })
            )
        }
    }

    /// A call the shared budget refuses was judged and opened in its read, but its write changes nothing of it:
    /// no reveal of a limited token is claimed, nothing is revealed, and only the refusal is recorded.
    @Test func aCallTheSharedBudgetRefusesClaimsNothing() async throws {
        try await withVault(serviceYAML(limits: "    limits: { reveals_per_minute: 1 }"), on: Self.shared) { t in
            let svc = try t.caller(UID.service)
            let free = try await t.tokenize(.text, ["first"], subject: "cust-1", as: svc)[0]
            let once = try await t.vault.tokenize(
                TokenizeRequest(kind: .text, subject: "cust-1", values: ["once"], limits: TokenLimits(maxReveals: 1)),
                caller: svc
            )[0]
            let vaults = Self.servers(t)
            #expect(await Self.detokenize(vaults[0], [free], as: svc) == .answered([.value("first", .plain)]))
            let before = try await t.auditRows().count
            #expect(await Self.detokenize(vaults[1], [once], as: svc) == .rateLimited(.revealsPerMinute))
            #expect(try await t.rows(once).first?.token.reveals == 0, "the refused call claimed no reveal")
            #expect(try await t.auditRows().count == before + 1, "one record, the refusal")
            t.clock.advance(by: 60)
            #expect(await Self.detokenize(vaults[2], [once], as: svc) == .answered([.value("once", .plain)]))
            #expect(try await t.rows(once).first?.token.reveals == 1)
        }
    }

    /// A vault on a store no other process shares keeps its budgets in memory: its calls put no bucket in the
    /// store (so the store's hot path does not change).
    @Test func aVaultOnAStoreNoOneSharesKeepsNoBucketInIt() async throws {
        let yaml = serviceYAML(limits: "    limits: { reveals_per_minute: 2, misses_per_minute: 1 }")
        try await withVault(yaml) { t in
            let svc = try t.caller(UID.service)
            let token = try await t.tokenize(.text, ["private"], subject: "cust-1", as: svc)[0]
            #expect(
                await Self.detokenize(t.vault, [token, "tok_unknown"], as: svc)
                    == .answered([.value("private", .plain), .error(.notFound)])
            )
            // Two misses never fit a bucket of one, whatever its level: refused by the in-process budget without
            // depending on how much real time passed (under load, a refill of the monotonic clock's bucket).
            #expect(
                await Self.detokenize(t.vault, ["tok_unknown too", "tok_unknown three"], as: svc)
                    == .rateLimited(.missesPerMinute)
            )
            let kept = try await t.store.write { writer in
                try [StoredBudgets.key(reveals: "svc"), StoredBudgets.key(misses: "svc")].map { try writer.bucket($0) }
            }
            #expect(kept == [nil, nil])
        }
    }
}

/// `StoredBudgets` against the in-process budgets: the same rule, so the same decisions for the same
/// sequence of calls and times, and the stored time only moving forward.
@Suite struct StoredBudgetsTests {
    /// Runs `body` with budgets on a fresh store at `now` (Unix milliseconds), in one write.
    static func atTime<T: Sendable>(
        _ store: InMemoryVaultStore,
        _ now: Int64,
        _ body: @escaping @Sendable (StoredBudgets) throws -> T
    ) async throws -> T {
        try await store.write { writer in try body(StoredBudgets(writer: writer, now: now)) }
    }

    @Test func decidesAsTheInProcessBudgetsDo() async throws {
        let store = InMemoryVaultStore(sharedByProcesses: true)
        let start = ContinuousClock.now
        let limiter = RevealRateLimiter()
        let budget = MissBudget()
        let origin: Int64 = 1_800_000_000_000
        // Times (ms after the start) and counts that drain, refill partly, go into debt and come back.
        let steps: [(Int64, Int)] = [
            (0, 4), (0, 3), (0, 0), (999, 1), (6_000, 1), (6_001, 2), (12_500, 5), (30_000, 1), (30_000, 7),
            (59_999, 1), (90_000, 9), (200_000, 3), (200_001, 8), (260_000, 0), (400_000, 10), (400_000, 11),
        ]
        for (index, (offset, count)) in steps.enumerated() {
            let instant = start.advanced(by: .milliseconds(offset))
            let expectedTake = limiter.take(identity: "svc", count: count, limit: 10, now: instant)
            let expectedCharge = budget.charge(identity: "svc", misses: count, limit: 6, now: instant)
            let (take, charge) = try await Self.atTime(store, origin + offset) { budgets in
                (
                    try budgets.takeReveals(identity: "svc", count: count, limit: 10),
                    try budgets.chargeMisses(identity: "svc", misses: count, limit: 6)
                )
            }
            #expect(take == expectedTake, "step \(index)")
            #expect(charge == expectedCharge, "step \(index)")
        }
    }

    /// Hosts' clocks differ a little. A call from a host behind the bucket's time refills nothing and leaves the
    /// time where it was, so running behind and then ahead again cannot refill the bucket twice.
    @Test func theBucketsTimeNeverMovesBack() async throws {
        let store = InMemoryVaultStore(sharedByProcesses: true)
        let key = StoredBudgets.key(reveals: "svc")
        let t0: Int64 = 1_800_000_000_000
        #expect(try await Self.atTime(store, t0) { try $0.takeReveals(identity: "svc", count: 10, limit: 10) })
        // A host 5 s behind: nothing refilled, the time stays at t0.
        #expect(
            try await Self.atTime(store, t0 - 5_000) { try $0.takeReveals(identity: "svc", count: 1, limit: 10) }
                == false
        )
        #expect(try await store.write { try $0.bucket(key) } == StoredBucket(level: 0, updatedAt: t0))
        // 6 s after t0, one reveal is back, once.
        #expect(try await Self.atTime(store, t0 + 6_000) { try $0.takeReveals(identity: "svc", count: 1, limit: 10) })
        #expect(
            try await Self.atTime(store, t0 + 1_000) { try $0.takeReveals(identity: "svc", count: 1, limit: 10) }
                == false
        )
        #expect(
            try await Self.atTime(store, t0 + 6_000) { try $0.takeReveals(identity: "svc", count: 1, limit: 10) }
                == false
        )
    }

    /// A row is the store's word: whatever level and time it holds (a bug, or a tampered database), the
    /// arithmetic neither traps nor grants more than a full bucket.
    @Test func anyStoredRowIsBoundedNotTrusted() async throws {
        let store = InMemoryVaultStore(sharedByProcesses: true)
        let now: Int64 = 1_800_000_000_000
        for row in [
            StoredBucket(level: .max, updatedAt: .min), StoredBucket(level: .min, updatedAt: .max),
            StoredBucket(level: .max, updatedAt: .max), StoredBucket(level: .min, updatedAt: .min),
        ] {
            try await store.write { writer in
                try writer.putBucket(StoredBudgets.key(reveals: "svc"), row)
                try writer.putBucket(StoredBudgets.key(misses: "svc"), row)
            }
            let granted = try await Self.atTime(store, now) { budgets in
                (0..<12).filter { _ in (try? budgets.takeReveals(identity: "svc", count: 1, limit: 10)) == true }.count
            }
            #expect(granted <= 10)
            _ = try await Self.atTime(store, now) { try $0.chargeMisses(identity: "svc", misses: 3, limit: 6) }
        }
    }
}
