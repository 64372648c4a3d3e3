import Testing
import VaultTestSupport

/// The SQLite store meets every promise of `VaultStore` (`StoreConformance`), each check on a fresh database.
@Suite struct SQLiteStoreConformanceTests {
    @Test(arguments: StoreConformance.checks)
    func conforms(_ check: StoreConformance.Check) async throws {
        try await check.run { use in try await withStore { store, _ in try await use(store) } }
    }
}
