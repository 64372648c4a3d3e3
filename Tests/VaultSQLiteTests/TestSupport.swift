import Foundation
import Testing
import VaultCore
import VaultTestSupport

@testable import VaultSQLite

/// Runs `body` on a newly created store, closing it afterwards.
@discardableResult
func withStore<T>(_ body: (SQLiteStore, String) async throws -> T) async throws -> T {
    try await withTemporaryFolder { folder in
        let path = folder + "/vault.db"
        return try await closing(try SQLiteStore.create(at: path)) { store in try await body(store, path) }
    }
}

func fileContains(_ path: String, _ needle: [UInt8]) -> Bool {
    guard let data = FileManager.default.contents(atPath: path) else { return false }
    return data.range(of: Data(needle)) != nil
}

extension SQLiteStore: GroupCommittingStore {}
