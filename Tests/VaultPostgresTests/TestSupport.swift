import Foundation
import Testing
import VaultCore
import VaultTestSupport

@testable import VaultPostgres

/// Runs `body` on a store created in a fresh test database, closing it and dropping the database afterwards.
@discardableResult
func withStore<T>(_ body: (PostgresStore, PostgresTestDatabase) async throws -> T) async throws -> T {
    try await PostgresTestDatabase.with { database in
        let store = try PostgresStore.create(try PostgresURL(database.uri))
        do {
            let result = try await body(store, database)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}

extension PostgresStore: GroupCommittingStore {}
