import Foundation
import Testing
import VaultCore
import VaultTestSupport

@testable import VaultPostgres

/// Runs `body` on a store created in a fresh test database, closing it and dropping the database afterwards.
@discardableResult
func withStore<T>(_ body: (PostgresStore, PostgresTestDatabase) async throws -> T) async throws -> T {
    try await PostgresTestDatabase.with { database in
        try await closing(try PostgresStore.create(try PostgresURL(database.uri))) { store in
            try await body(store, database)
        }
    }
}

/// Two stores on one fresh database, as two servers would have: the first creates it, the second opens it.
func withTwoStores<T>(_ body: (PostgresStore, PostgresStore) async throws -> T) async throws -> T {
    try await withStore { first, database in
        try await closing(try PostgresStore.open(try PostgresURL(database.uri))) { second in
            try await body(first, second)
        }
    }
}

extension PostgresStore: GroupCommittingStore {}
