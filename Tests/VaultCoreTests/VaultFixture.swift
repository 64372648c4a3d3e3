import VaultTestSupport

/// Runs `body` on a fresh vault on the in-memory store deciding by `policyYAML`: the domain's tests need no
/// database (VaultSQLiteTests runs the same vault on SQLite where the files matter).
func withVault<T>(
    _ policyYAML: String,
    clock: TestClock = TestClock(),
    _ body: (TestVault) async throws -> T
) async throws -> T {
    try await withVault(policyYAML, clock: clock, on: .inMemory, body)
}
