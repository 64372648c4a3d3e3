import Foundation
import Logging
import Testing

@testable import VaultCore

/// The policy's fingerprint in the audit log: SHA-256 of exactly the bytes the holder parsed.
@Suite struct PolicyHashTests {
    @Test func sha256KnownAnswers() {
        // FIPS 180-2 examples: what `sha256sum` prints for "abc" and for nothing.
        #expect(
            Hex.encode(SHA256.hash(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        #expect(Hex.encode(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func theHolderNamesTheHashOfTheBytesInForce() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cvault-policy-hash-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("policy.yaml").path
        func write(_ text: String) throws {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
        let holder = PolicyHolder(path: path, logger: Logger(label: "test"))
        #expect(holder.sha256 == nil)
        try write(PolicyFixtures.example)
        _ = try holder.reload().get()
        let first = Hex.encode(SHA256.hash(Array(PolicyFixtures.example.utf8)))
        #expect(holder.sha256 == first)
        #expect(holder.auditDetail("at start") == "sha256 \(first) of \(path), at start")
        // A refused file leaves the policy in force, and its hash.
        try write("identities: [")
        #expect(throws: VaultError.self) { try holder.reload().get() }
        #expect(holder.sha256 == first)
        let edited = PolicyFixtures.example + "# reviewed\n"
        try write(edited)
        _ = try holder.reload().get()
        #expect(holder.sha256 == Hex.encode(SHA256.hash(Array(edited.utf8))))
    }
}
