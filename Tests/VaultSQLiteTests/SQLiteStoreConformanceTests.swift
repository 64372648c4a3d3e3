import Testing
import VaultTestSupport

/// The SQLite store meets every promise of `VaultStore` (`StoreConformance`), each check on a fresh database.
///
/// One check at a time: each store holds a dozen descriptors (the writer, the readers and the checkpointer,
/// each with its database and WAL), and 38 at once took the test process past 1,400 open descriptors. There
/// Foundation's `Process.run()` in this toolchain lists `/proc/self/fd` with an over-read that faults once the
/// listing fills glibc's 32 KiB directory buffer (`launch(_:)` says more), which killed whole test runs.
@Suite(.serialized) struct SQLiteStoreConformanceTests {
    @Test(arguments: StoreConformance.checks)
    func conforms(_ check: StoreConformance.Check) async throws {
        try await check.run { use in try await withStore { store, _ in try await use(store) } }
    }
}
