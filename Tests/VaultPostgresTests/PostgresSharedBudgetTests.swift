import Testing
import VaultTestSupport

@testable import VaultCore
@testable import VaultPostgres

/// `reveals_per_minute` and `misses_per_minute` across several stores on one database: each `Vault` below
/// has a `PostgresStore` of its own (its own connections and writer), as each server would, and their
/// budgets are the database's rows, so the limits hold across all of them. The vaults' clock stands still,
/// so every count is exact.
@Suite(.serialized) struct PostgresSharedBudgetTests {
    /// A vault on a new database, and two more vaults on stores of their own opened on it.
    static func withVaults(_ yaml: String, _ body: (TestVault, [Vault]) async throws -> Void) async throws {
        try await PostgresTestDatabase.with { database in
            let url = try PostgresURL(database.uri)
            let backend = TestStoreBackend(create: { _ in try PostgresStore.create(url) })
            try await withVault(yaml, on: backend) { t in
                let others = try (0..<2).map { _ in try PostgresStore.open(url) }
                do {
                    let vaults =
                        [t.vault]
                        + others.map {
                            Vault(keyring: t.keyring, store: $0, policies: t.policies, clock: t.clock.vaultClock)
                        }
                    try await body(t, vaults)
                    for store in others { await store.close() }
                } catch {
                    for store in others { await store.close() }
                    throw error
                }
            }
        }
    }

    /// `calls` detokenize calls of `tokens` at once, spread round-robin over `vaults`: the values answered and
    /// the refusals' fields.
    static func race(
        _ calls: Int,
        _ tokens: [String],
        over vaults: [Vault],
        as caller: Caller
    ) async
        -> (answered: [[RevealItem]], refused: [VaultError.Field?])
    {
        let outcomes = await withTaskGroup(of: Result<[RevealItem], VaultError>.self) { group in
            for index in 0..<calls {
                group.addTask {
                    do {
                        return .success(
                            try await vaults[index % vaults.count].detokenize(tokens, purpose: "view", caller: caller)
                        )
                    } catch let error as VaultError {
                        return .failure(error)
                    } catch {
                        return .failure(VaultError(.internal, "\(type(of: error))"))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        var answered: [[RevealItem]] = []
        var refused: [VaultError.Field?] = []
        for outcome in outcomes {
            switch outcome {
            case .success(let items): answered.append(items)
            case .failure(let error):
                #expect(error.code == .rateLimited && (error.retryAfterMilliseconds ?? 0) > 0)
                refused.append(error.field)
            }
        }
        return (answered, refused)
    }

    @Test func theStoreIsSharedSoTheVaultKeepsItsBudgetsInIt() async throws {
        try await Self.withVaults(serviceYAML()) { t, _ in
            #expect(t.store.sharedByProcesses)
            guard case .store = t.vault.budgets else {
                Issue.record("a vault on PostgreSQL keeps its budgets in its own memory")
                return
            }
        }
    }

    @Test func revealsPerMinuteHoldsAcrossStoresOnOneDatabase() async throws {
        try await Self.withVaults(serviceYAML(limits: "    limits: { reveals_per_minute: 10 }")) { t, vaults in
            let svc = try t.caller(UID.service)
            let token = try await t.tokenize(.text, ["rated"], subject: "cust-1", as: svc)
            let (answered, refused) = await Self.race(30, token, over: vaults, as: svc)
            #expect(answered.count == 10)
            #expect(answered.allSatisfy { $0 == [.value("rated", .plain)] })
            #expect(refused == Array(repeating: .revealsPerMinute, count: 20))
            let records = try await t.auditRows().compactMap { AuditEvent.decode($0.body) }.filter {
                $0.event == .detokenize
            }
            #expect(records.filter { $0.outcome == .ok }.count == 10)
            #expect(records.filter { $0.outcome == .refused && $0.reason == "rate limited" }.count == 20)
        }
    }

    @Test func theMissBudgetHoldsAcrossStoresOnOneDatabase() async throws {
        try await Self.withVaults(serviceYAML(limits: "    limits: { misses_per_minute: 5 }")) { t, vaults in
            let svc = try t.caller(UID.service)
            let good = try await t.tokenize(.text, ["known"], subject: "cust-1", as: svc)
            let (answered, refused) = await Self.race(15, ["tok_AAAAAAAAAAAAAAAAAAAAAA"], over: vaults, as: svc)
            #expect(answered == Array(repeating: [.error(.notFound)], count: 5))
            #expect(refused == Array(repeating: .missesPerMinute, count: 10))
            // In debt on every store: even a good token is refused.
            let after = await Self.race(3, good, over: vaults, as: svc)
            #expect(after.answered.isEmpty && after.refused == Array(repeating: .missesPerMinute, count: 3))
        }
    }
}
