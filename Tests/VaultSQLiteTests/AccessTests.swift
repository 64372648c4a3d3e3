import Testing
import VaultCore
import VaultTestSupport

@testable import VaultSQLite

/// What the SQLite store answers beyond the contract (`StoreConformance` checks the contract itself): its error
/// codes. (A purpose with a comma, which its encoding could not hold, cannot be built: `Purpose` refuses it.)
@Suite struct AccessTests {
    @Test func aTakenSubjectNameIsAStorageError() async throws {
        try await withStore { store, _ in
            _ = try await addSubject(store, "cust-alice")
            let duplicate = await #expect(throws: VaultError.self) {
                try await store.write {
                    try $0.insertSubject(name: "cust-alice", kekVersion: 1, dekVersion: 1, wrappedKey: [1])
                }
            }
            #expect(duplicate?.code == .storage)
        }
    }

    @Test func aReadCannotWrite() async throws {
        try await withStore { store, _ in
            let error = await #expect(throws: VaultError.self) {
                try await store.read { reader in
                    // Even a cast to the writer protocol cannot change anything on a reader connection.
                    try (reader as! any StoreWriter).insertSubject(
                        name: "x",
                        kekVersion: 1,
                        dekVersion: 1,
                        wrappedKey: [1]
                    )
                }
            }
            #expect(error?.code == .storage)
            let subjects = try await store.read { try $0.stats().subjects }
            #expect(subjects == 0)
        }
    }

    @Test func errorsNeverCarryBoundValues() async throws {
        try await withStore { store, _ in
            let secretName = "cust-7f3a9c-unique-name"
            _ = try await addSubject(store, secretName)
            let error = await #expect(throws: VaultError.self) {
                try await store.write {
                    try $0.insertSubject(name: secretName, kekVersion: 1, dekVersion: 1, wrappedKey: [1])
                }
            }
            #expect(error.map { !"\($0)".contains(secretName) } == true)
            #expect(error?.hint != nil)
        }
    }
}
