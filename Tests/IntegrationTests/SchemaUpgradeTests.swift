import Foundation
import Testing

/// A vault written by cvault with schema version 1 (Tests/Fixtures/vault-schema1, made by commit f1df27b),
/// opened by this cvault: every token handed out before keeps working (values, limits, reveal counts,
/// erasures), deterministic tokens stay the same for the same value, new opaque tokens use the version 2
/// layout, and the whole vault and its audit log still verify.
@Suite struct SchemaUpgradeTests {
    /// The fixture's tokens with what each holds (README.md beside the fixture lists them too).
    static let text1 = "tok_3ZB53koWSxTvJydkoYgrlf", text2 = "tok_45JOrVNUWkkBksLSTjXiGx"
    static let text3 = "tok_2CcCuPAXhN9J2IKXgEuzyD"
    static let emailCust1 = "tok_2Bs9Pa1kGfX8ASflUvJ1jp", emailCust2 = "tok_3vZgPomrCkNgwNekh1pw2L"
    static let card = "8493292616781111"
    /// max_reveals 2, revealed once before the upgrade.
    static let name = "tok_0OVbFJrCgrlIEh8dUEmUkI"
    /// purposes [other].
    static let date = "tok_1c0gAllp79DI5y2UlEwzsA"
    /// Its subject was erased.
    static let erased = "tok_2faDZrodw8nvbWWaYLdHWj"

    /// The fixture copied into a fresh vault folder, with the modes cvault demands (git keeps only 0644).
    static func withUpgradedFixture(_ body: (VaultFixture) async throws -> Void) async throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/vault-schema1").path
        let root = try makeTemporaryFolder(prefix: "cvault-upgrade")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let vault = VaultFixture(root: root, passphrase: "fixture passphrase v1 (test only)")
        for folder in ["Keys", "data"] {
            try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: false)
            try setMode(root + "/" + folder, 0o700)
        }
        for file in ["Keys/cvault.keyring", "data/cvault.db"] {
            try FileManager.default.copyItem(atPath: source + "/" + file, toPath: root + "/" + file)
            try setMode(root + "/" + file, 0o600)
        }
        try vault.writePolicy(String(contentsOfFile: source + "/policy.yaml", encoding: .utf8))
        #expect(try Self.sql(vault, "PRAGMA user_version;") == "1")
        try await body(vault)
    }

    /// One query's output, without the final newline.
    static func sql(_ vault: VaultFixture, _ query: String) throws -> String {
        try sqlite3(vault.database, query).trimmingCharacters(in: .newlines)
    }

    /// `detokenize --json` items: the value, or "error:REASON".
    static func reveal(_ vault: VaultFixture, _ tokens: [String], purpose: String) async throws -> [String] {
        let run = try await vault.cvault(["detokenize", "--json", "--purpose", purpose] + tokens)
        try #require(run.lines.count == tokens.count, "detokenize failed: \(run.stderr)")
        return try run.lines.map { line in
            let item = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            return item["value"] ?? "error:" + (item["error"] ?? "?")
        }
    }

    @Test func tokensFromSchemaOneStillDetokenizeWithTheirLimits() async throws {
        try await Self.withUpgradedFixture { vault in
            let first = try await Self.reveal(
                vault,
                [
                    Self.text1, Self.text2, Self.text3, Self.emailCust1, Self.emailCust2, Self.card, Self.name,
                    Self.date, Self.erased,
                ],
                purpose: "migration-test"
            )
            #expect(
                first == [
                    "hello world", "second text", "third text", "Ada@example.com", "ada@example.com",
                    "4111111111111111", "Grace Hopper", "error:denied", "error:not_found",
                ]
            )
            #expect(try Self.sql(vault, "PRAGMA user_version;") == "4")
            #expect(
                try Self.sql(vault, "SELECT count(*), sum(addressed) FROM tokens;") == "8|0",
                "every earlier row is found by lookup"
            )
            // The reveal count came across: max_reveals 2, one used before the upgrade and one just now.
            #expect(try await Self.reveal(vault, [Self.name], purpose: "migration-test") == ["error:denied"])
            // Purposes came across: the date opens only for `other`.
            #expect(try await Self.reveal(vault, [Self.date], purpose: "other") == ["1906-12-09"])
        }
    }

    /// Schema 1 kept an unkeyed BLAKE2b of each idempotent request (its values included) in
    /// `idempotency.request_hash`. The upgrade deletes those rows, and no byte of them survives in any file.
    @Test func theUpgradeLeavesNoUnkeyedRequestDigestOnDisk() async throws {
        try await Self.withUpgradedFixture { vault in
            // A schema-1 record as cvault at f1df27b wrote it (the fixture was made without one).
            let digest = randomHex(32)
            let answer = randomHex(64)
            let key = randomHex(16)
            _ = try Self.sql(
                vault,
                """
                INSERT INTO idempotency(key_hash, request_hash, sealed_response, created_at)
                VALUES (x'\(key)', x'\(digest)', x'\(answer)', 1);
                """
            )
            let needle = Data(bytes(fromHex: digest))
            try #require(!filesContaining(needle, under: vault.root + "/data").isEmpty, "the digest is on disk before")

            let first = try await Self.reveal(vault, [Self.text1], purpose: "migration-test")
            #expect(first == ["hello world"])
            #expect(try Self.sql(vault, "PRAGMA user_version;") == "4")
            #expect(try Self.sql(vault, "SELECT count(*) FROM idempotency;") == "0")
            #expect(
                filesContaining(needle, under: vault.root + "/data").isEmpty,
                "the schema-1 digest survived the upgrade"
            )
            #expect(filesContaining(Data(bytes(fromHex: answer)), under: vault.root + "/data").isEmpty)
        }
    }

    @Test func newTokensUseTheNewLayoutBesideTheOldOnes() async throws {
        try await Self.withUpgradedFixture { vault in
            let fresh = try await vault.tokenize("text", subject: "cust-1", ["after the upgrade"])
            #expect(fresh[0].wholeMatch(of: /tok_[0-9A-Za-z]{22}/) != nil)
            #expect(
                try Self.sql(vault, "SELECT addressed, subject_id FROM tokens ORDER BY id DESC LIMIT 1;") == "1|1",
                "the new opaque token carries its row id, under the existing subject"
            )
            #expect(
                try Self.sql(vault, "SELECT min(id) > 8 FROM tokens WHERE addressed = 1;") == "1",
                "ids continue after the copied rows"
            )
            // Deterministic tokens do not change across the upgrade: the same value gives the same token.
            #expect(try await vault.tokenize("email", subject: "cust-9", ["ada@example.com"]) == [Self.emailCust2])
            #expect(
                try await Self.reveal(vault, fresh + [Self.text1, Self.emailCust2], purpose: "migration-test")
                    == ["after the upgrade", "hello world", "ada@example.com"]
            )

            let verify = try await vault.cvault("verify")
            #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr)")
            let audit = try await vault.cvault("audit", "verify")
            #expect(audit.status == 0, "audit verify: \(audit.stdout) \(audit.stderr)")
            let counts = try await vault.counts()
            #expect(counts.subjects == 4 && counts.tokens == 10)
        }
    }
}
