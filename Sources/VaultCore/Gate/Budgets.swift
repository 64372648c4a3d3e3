/// The two buckets a detokenize call's budget is taken from (`DetokenizeCall.budget`), wherever they are
/// kept: `misses_per_minute` (`MissBudget`'s rule) and `reveals_per_minute` (`RevealRateLimiter`'s rule).
protocol Budgets {
    /// Charges the call's misses to `identity`'s miss budget (`MissBudget.charge(misses:limit:to:)`).
    func chargeMisses(identity: String, misses: Int, limit: Int) throws -> MissBudget.Charge
    /// Takes the call's reveals from `identity`'s reveal rate, all or nothing
    /// (`RevealRateLimiter.take(count:limit:from:)`).
    func takeReveals(identity: String, count: Int, limit: Int) throws -> Bool
}

/// Where a vault keeps its budgets, which decides where a detokenize call's budget is taken.
enum BudgetPlace: Sendable {
    /// In this process's memory: no other process writes the store (`VaultStore.sharedByProcesses` false),
    /// so this process sees every take. Decided in the call's read, before anything is opened, at no cost
    /// to the store.
    case process(ProcessBudgets)
    /// In the store (`StoredBudgets`): several processes share it, and only a decision inside the write that
    /// records the call's audit record sees every server's takes. Refilled on `clock`'s wall-clock time.
    case store(VaultClock)

    /// The place for a vault on `store`.
    init(for store: any VaultStore, clock: VaultClock) {
        self = store.sharedByProcesses ? .store(clock) : .process(ProcessBudgets())
    }
}

/// The budgets of a process that is the only one writing its store.
struct ProcessBudgets: Budgets, Sendable {
    let misses = MissBudget()
    let reveals = RevealRateLimiter()

    func chargeMisses(identity: String, misses: Int, limit: Int) -> MissBudget.Charge {
        self.misses.charge(identity: identity, misses: misses, limit: limit)
    }

    func takeReveals(identity: String, count: Int, limit: Int) -> Bool {
        reveals.take(identity: identity, count: count, limit: limit)
    }
}
