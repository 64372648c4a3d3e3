import Testing
import VaultTestSupport

/// The PostgreSQL store meets every promise of `VaultStore` (`StoreConformance`), each check on a fresh
/// database of the test cluster (`CVAULT_TEST_POSTGRES`). One at a time, so the cluster's connections (four a
/// store) and the machine's two cores are not the thing under test.
@Suite(.serialized) struct PostgresStoreConformanceTests {
    @Test(arguments: StoreConformance.checks)
    func conforms(_ check: StoreConformance.Check) async throws {
        try await check.run { use in try await withStore { store, _ in try await use(store) } }
    }
}
