import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// File modes and atomic writes for the keyring and anything else holding keys.
@Suite struct KeyringFileSafetyTests {
    static let passphrase = "file safety passphrase"

    @Test(arguments: [0o644, 0o640, 0o604, 0o660, 0o606])
    func openRefusesAKeyringOthersCanAccess(mode: Int) throws {
        try withPrivateTestFolder { folder in
            let path = folder + "/cvault.keyring"
            _ = try Keyring.create(
                at: path,
                credential: .passphrase(testPassphrase(Self.passphrase)),
                kdf: .fastForTests,
                now: Date()
            )
            #expect(chmod(path, mode_t(mode)) == 0)
            let error = try #require(throws: VaultError.self) {
                _ = try Keyring.open(at: path, credential: .passphrase(testPassphrase(Self.passphrase)))
            }
            #expect(error.code == .permissions)
            #expect(error.description.contains("chmod 600 \(path)"))
            #expect(error.message.contains(path))
            #expect(error.message.contains(String(mode, radix: 8)))
            // Reading the public half alone is refused the same way.
            #expect(throws: VaultError.self) { _ = try KeyringFile.read(at: path) }
            // The fix the message names works.
            #expect(chmod(path, 0o600) == 0)
            _ = try Keyring.open(at: path, credential: .passphrase(testPassphrase(Self.passphrase)))
        }
    }

    @Test func stricterModesThan0600AreAccepted() throws {
        try withPrivateTestFolder { folder in
            let path = folder + "/cvault.keyring"
            _ = try Keyring.create(
                at: path,
                credential: .passphrase(testPassphrase(Self.passphrase)),
                kdf: .fastForTests,
                now: Date()
            )
            #expect(chmod(path, 0o400) == 0)
            _ = try Keyring.open(at: path, credential: .passphrase(testPassphrase(Self.passphrase)))
        }
    }

    @Test func missingKeyringIsNotInitialized() throws {
        try withPrivateTestFolder { folder in
            let error = try #require(throws: VaultError.self) {
                _ = try Keyring.open(
                    at: folder + "/absent.keyring",
                    credential: .passphrase(testPassphrase(Self.passphrase))
                )
            }
            #expect(error.code == .notInitialized)
        }
    }

    @Test func writeAtomicallyCreatesAPrivateFile() throws {
        try withPrivateTestFolder { folder in
            let path = folder + "/file"
            try FileSafety.writeAtomically(Array("first".utf8), to: path)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("first".utf8))
            #expect(try permissionBits(path) == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["file"])
        }
    }

    @Test func writeAtomicallyReplacesWholeAndTightensTheMode() throws {
        try withPrivateTestFolder { folder in
            let path = folder + "/file"
            #expect(
                FileManager.default.createFile(
                    atPath: path,
                    contents: Data(repeating: 0x41, count: 4096),
                    attributes: [.posixPermissions: 0o644]
                )
            )
            try FileSafety.writeAtomically(Array("short".utf8), to: path)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("short".utf8))
            #expect(try permissionBits(path) == 0o600)
            try FileSafety.writeAtomically([], to: path)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["file"])
        }
    }

    @Test func aStaleTemporaryFromACrashIsIgnoredAndRemoved() throws {
        try withPrivateTestFolder { folder in
            let path = folder + "/file"
            // A leftover temporary (even one others could read) must not become the live file or block the write.
            #expect(
                FileManager.default.createFile(
                    atPath: path + ".tmp",
                    contents: Data("stale".utf8),
                    attributes: [.posixPermissions: 0o644]
                )
            )
            try FileSafety.writeAtomically(Array("fresh".utf8), to: path)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("fresh".utf8))
            #expect(try permissionBits(path) == 0o600)
            #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        }
    }

    @Test func writeIntoAMissingFolderFailsAndLeavesNothing() throws {
        try withPrivateTestFolder { folder in
            let path = folder + "/missing/file"
            let error = try #require(throws: VaultError.self) { try FileSafety.writeAtomically([1, 2, 3], to: path) }
            #expect(error.code == .storage)
            #expect(error.message.contains(folder + "/missing"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
        }
    }

    @Test func requirePrivateNamesTheFileAndTheFix() throws {
        try withPrivateTestFolder { folder in
            let path = folder + "/db"
            #expect(
                FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o600])
            )
            try FileSafety.requirePrivate(path, what: "database")
            #expect(chmod(path, 0o620) == 0)  // group-writable only: still refused
            let error = try #require(throws: VaultError.self) { try FileSafety.requirePrivate(path, what: "database") }
            #expect(error.code == .permissions)
            #expect(error.hint == "run `chmod 600 \(path)`")
            let missing = try #require(throws: VaultError.self) {
                try FileSafety.requirePrivate(folder + "/none", what: "database")
            }
            #expect(missing.code == .notInitialized)
        }
    }

    @Test func makePrivateFolderIs0700() throws {
        try withPrivateTestFolder { folder in
            let path = folder + "/a/b"
            try FileSafety.makePrivateFolder(path)
            #expect(try permissionBits(path) == 0o700)
            // Existing: left alone, no error.
            try FileSafety.makePrivateFolder(path)
            #expect(FileManager.default.createFile(atPath: folder + "/plain", contents: Data()))
            let error = try #require(throws: VaultError.self) { try FileSafety.makePrivateFolder(folder + "/plain") }
            #expect(error.code == .invalidRequest)
        }
    }
}
