import Foundation
import Testing

/// When `erase` answers over the socket, no byte of the subject's wrapped data key, of its sealed values or
/// of its stored idempotent answers is left in any file in the data folder: not in the database, not in its
/// WAL, not in the shared-memory file (docs/DESIGN.md, "Erasure").
@Suite struct EraseScrubTests {
    /// Hex blobs from the running server's database, read with the sqlite3 shell (a reader, like any other).
    static func blobs(_ server: ServerHarness, _ sql: String) throws -> [[UInt8]] {
        try sqlite3(server.dataDir + "/cvault.db", sql).split(separator: "\n").map { bytes(fromHex: String($0)) }
    }

    /// Files (by name) under the data folder holding any 16-byte window of any of `secrets`.
    static func filesHoldingAWindow(of secrets: [[UInt8]], under folder: String) -> Set<String> {
        var windows: Set<Data> = []
        for secret in secrets where secret.count >= 16 {
            for start in 0...(secret.count - 16) { windows.insert(Data(secret[start..<(start + 16)])) }
        }
        var found: Set<String> = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            guard let bytes = FileManager.default.contents(atPath: folder + "/" + name), bytes.count >= 16 else {
                continue
            }
            let all = [UInt8](bytes)
            for start in 0...(all.count - 16) where windows.contains(Data(all[start..<(start + 16)])) {
                found.insert(name)
                break
            }
        }
        return found
    }

    @Test func eraseOverTheSocketLeavesNoByteOfTheSubjectInAnyFile() throws {
        let server = try ServerHarness()
        defer { server.destroy() }
        try server.start()
        _ = try server.tokenize(kind: "text", subject: "scrub-1", values: ["first note", "second note"])
        _ = try server.tokenize(kind: "card", subject: "scrub-1", values: ["4111 1111 1111 1111"])
        _ = try server.tokenize(kind: "name", subject: "scrub-1", values: ["Ada Lovelace"])
        let keyed = try server.call(
            "tokenize",
            [
                "kind": "email", "subject": "scrub-1", "values": ["ada@example.org"],
                "idempotency_key": "scrub-order-1",
            ]
        )
        #expect(keyed.resultObject?["tokens"] != nil)
        // Another subject's rows share the pages, so the erase rewrites pages rather than freeing them.
        let kept = try server.tokenize(kind: "text", subject: "keep-1", values: ["kept note"])

        let subject = "(SELECT id FROM subjects WHERE name = 'scrub-1')"
        let secrets =
            try Self.blobs(server, "SELECT hex(wrapped_key) FROM subjects WHERE name = 'scrub-1';")
            + Self.blobs(server, "SELECT hex(sealed) FROM tokens WHERE subject_id = \(subject);")
            + Self.blobs(server, "SELECT hex(sealed_response) FROM idempotency WHERE subject_id = \(subject);")
        try #require(secrets.count == 1 + 5 + 1, "the subject's key, its five sealed values and its stored answer")
        #expect(!Self.filesHoldingAWindow(of: secrets, under: server.dataDir).isEmpty, "the bytes are on disk before")

        let erased = try server.call("erase", ["subject": "scrub-1"])
        #expect(erased.resultObject?["erased"] as? Int == 5, "erase: \(erased)")
        // At once, with the server still running: nothing of it in the database, the WAL or the shm file.
        let holding = Self.filesHoldingAWindow(of: secrets, under: server.dataDir)
        #expect(holding.isEmpty, "erased bytes remain in \(holding.sorted())")
        #expect(try server.allRevealPlain(kept, as: ["kept note"]))
    }
}
