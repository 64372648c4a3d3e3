import Testing
import VaultCore

/// The `VaultStore` contract (Sources/VaultCore/Store/VaultStore.swift) as named checks that any backend
/// runs. A backend conforms by lending the suite a fresh, empty store per check; its test target then holds
/// one small suite:
///
/// ```swift
/// @Suite struct SQLiteStoreConformanceTests {
///     @Test(arguments: StoreConformance.checks)
///     func conforms(_ check: StoreConformance.Check) async throws {
///         try await check.run { use in try await withStore { store, _ in try await use(store) } }
///     }
/// }
/// ```
///
/// Every check goes through the public protocol only, so it holds for SQLite, the in-memory twin and any
/// backend to come. What the protocol cannot show (that a failed commit fails every caller of its group,
/// that closures never run on the cooperative pool, that a scrub leaves no byte in a file) is checked by each
/// backend's own tests.
public enum StoreConformance {
    /// Lends `use` a fresh, empty store, and afterwards closes it and removes whatever it kept.
    public typealias Host = (_ use: (any VaultStore) async throws -> Void) async throws -> Void

    /// One promise of the contract, checked against a store.
    public struct Check: Sendable, CustomTestStringConvertible, CustomStringConvertible {
        /// What the store promises, as the test list shows it.
        public let name: String
        let body: @Sendable (any VaultStore) async throws -> Void

        init(_ name: String, _ body: @escaping @Sendable (any VaultStore) async throws -> Void) {
            self.name = name
            self.body = body
        }

        /// Runs the check on the store `host` lends.
        public func run(on host: Host) async throws { try await host { try await body($0) } }

        /// Runs the check on a store `make` creates, closing it afterwards (for stores that leave nothing
        /// behind, such as `InMemoryVaultStore`).
        public func run(on make: () throws -> any VaultStore) async throws {
            let store = try make()
            do {
                try await body(store)
                await store.close()
            } catch {
                await store.close()
                throw error
            }
        }

        public var testDescription: String { name }
        public var description: String { name }
    }

    /// Every check, grouped by the part of the contract it covers.
    public static let checks: [Check] =
        transactions + subjects + tokens + reveals + erasure + audit + idempotency + readThenWrite + rotation
        + rights + lifecycle + buckets
}
