import Testing
import VaultTestSupport

/// The in-memory store meets every promise of `VaultStore` (`StoreConformance`): the domain's tests that run
/// on it test the domain, not a store that cuts corners.
@Suite struct InMemoryStoreConformanceTests {
    @Test(arguments: StoreConformance.checks)
    func conforms(_ check: StoreConformance.Check) async throws {
        try await check.run(on: { InMemoryVaultStore() })
    }
}
