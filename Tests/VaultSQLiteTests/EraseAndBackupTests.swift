import Foundation
import Testing
import VaultCore
import VaultTestSupport

@testable import VaultSQLite

@Suite struct EraseAndBackupTests {
    @Test func erasedBytesLeaveTheFilesAfterACheckpoint() async throws {
        try await withStore { store, path in
            // Distinctive ciphertexts and wrapped keys, easy to find in the raw file bytes.
            let erasedSealed = Array("ERASE-ME-SEALED-VALUE-0123456789".utf8) + randomBytes(16)
            let erasedKey = Array("ERASE-ME-WRAPPED-KEY-0123456789".utf8) + randomBytes(16)
            let keptSealed = Array("KEEP-ME-SEALED-VALUE-0123456789".utf8) + randomBytes(16)
            let (erasedID, keptID) = try await store.write { writer in
                (
                    try writer.insertSubject(name: "cust-erased", kekVersion: 1, dekVersion: 1, wrappedKey: erasedKey),
                    try writer.insertSubject(
                        name: "cust-kept",
                        kekVersion: 1,
                        dekVersion: 1,
                        wrappedKey: randomBytes(72)
                    )
                )
            }
            try await store.write { writer in
                try writer.insertToken(makeToken(subjectID: erasedID, sealed: erasedSealed))
                try writer.insertToken(makeToken(subjectID: keptID, sealed: keptSealed))
                for _ in 0..<50 { try writer.insertToken(makeToken(subjectID: keptID)) }
            }
            try await store.checkpoint()
            #expect(fileContains(path, erasedSealed))
            #expect(fileContains(path, erasedKey))

            #expect(try await store.write { try $0.eraseSubject(named: "cust-erased") } == 1)
            try await store.checkpoint()
            #expect(!fileContains(path, erasedSealed))
            #expect(!fileContains(path, erasedKey))
            #expect(!fileContains(path + "-wal", erasedSealed))
            #expect(!fileContains(path + "-wal", erasedKey))
            // The control: the other subject's row is still there.
            #expect(fileContains(path, keptSealed))
        }
    }

    @Test func backupCopiesEverythingIntoAPrivateFile() async throws {
        try await withStore { store, path in
            let subject = try await addSubject(store, "cust-1")
            let token = makeToken(subjectID: subject.id)
            try await store.write { writer in
                try writer.insertToken(token)
                try writer.appendAudit(AuditRow(seq: 1, prev: [0], hash: [1], body: "{}"))
            }
            let copy = path + ".backup"
            try await store.backup(to: copy)
            #expect(try permissionBits(copy) == 0o600)

            let restored = try SQLiteStore.open(at: copy)
            let found = try await restored.read { try $0.tokens(lookup: token.lookup) }
            #expect(found == [StoredToken(token: token, subject: subject)])
            #expect(try await restored.read { try $0.stats() } == (try await store.read { try $0.stats() }))
            await restored.close()

            let error = await #expect(throws: VaultError.self) { try await store.backup(to: copy) }
            #expect(error?.message.contains("already exists") == true)
            // The refused backup left the existing file alone.
            #expect(FileManager.default.fileExists(atPath: copy))
        }
    }
}
