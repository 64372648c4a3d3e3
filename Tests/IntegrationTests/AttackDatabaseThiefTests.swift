import CSodium
import Foundation
import Testing
import VaultCore

#if canImport(Glibc)
import Glibc
#endif

/// Attacker: a database thief (docs/THREAT_MODEL.md). They hold a copy of `cvault.db` and its `-wal` taken
/// from a running server, and no keyring. Claim: the copy holds no customer value in any form a thief can
/// test a guess against: no plaintext, no normalized form, no format-preserving token, and no unkeyed digest.
/// (Moved or spliced rows are the row-swap claim: VaultRowSwapTests in VaultSQLiteTests.)
@Suite(.serialized, .timeLimit(.minutes(10)))
struct AttackDatabaseThiefTests {
    /// Every kind with a token mode of each shape: the format-preserving kinds' tokens are value-shaped.
    static let policy = ServerPolicies.operatorOnly(
        kinds: """
            kinds:
              card: format-preserving
              ssn: format-preserving
              phone: format-preserving
              name: deterministic
            """
    )

    static func mode(_ kind: String) -> String {
        switch kind {
        case "card", "ssn", "phone": "format-preserving"
        case "name": "deterministic"
        default: "opaque"
        }
    }

    /// `label ‖ 0x00`, then each field as a u32 big-endian length and its bytes: the framing cvault uses for
    /// labelled inputs (docs/DESIGN.md), rebuilt here so the test does not depend on the code it checks.
    static func framed(_ label: String, _ fields: [[UInt8]]) -> [UInt8] {
        var out = Array(label.utf8) + [0]
        for field in fields {
            let n = UInt32(field.count)
            out += [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] + field
        }
        return out
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        _ = crypto_hash_sha256(&out, bytes, UInt64(bytes.count))
        return out
    }

    /// The digests a thief would try against a guessed value: BLAKE2b (16, 32 and 64 bytes) and SHA-256 of
    /// the value alone, of `kind:value` and of `kind ‖ 0x00 ‖ value`, and the idempotency request hash of the
    /// call that stored it, as that hash was built unkeyed (BLAKE2b-256 over the framed kind, mode, subject,
    /// scope, purposes, expiry and reveal limit, and the normalized values).
    static func unkeyedDigests(
        kind: String,
        subject: String,
        normalized: String,
        purposes: [String]?,
        maxReveals: Int?
    ) -> [(what: String, bytes: [UInt8])] {
        let value = Array(normalized.utf8)
        let plain: [(String, [UInt8])] = [
            ("value", value), ("kind:value", Array("\(kind):\(normalized)".utf8)),
            ("kind 0x00 value", Array(kind.utf8) + [0] + value),
        ]
        var digests: [(what: String, bytes: [UInt8])] = []
        for (form, input) in plain {
            digests.append(("BLAKE2b-256 of \(kind) \(form)", BLAKE2b.hash(input, outputLength: 32)))
            digests.append(("BLAKE2b-128 of \(kind) \(form)", BLAKE2b.hash(input, outputLength: 16)))
            digests.append(("BLAKE2b-512 of \(kind) \(form)", BLAKE2b.hash(input, outputLength: 64)))
            digests.append(("SHA-256 of \(kind) \(form)", sha256(input)))
        }
        let request = framed(
            "cvault.tokenize.request.v1",
            [
                Array(kind.utf8), Array(mode(kind).utf8), Array(subject.utf8),
                Array("default".utf8), Array((purposes ?? []).joined(separator: ",").utf8),
                Array("-1|\(maxReveals ?? -1)".utf8), value,
            ]
        )
        digests.append(("unkeyed idempotency request hash of a \(kind) call", BLAKE2b.hash(request, outputLength: 32)))
        return digests
    }

    /// The thief's copy: the database and whatever WAL it has, copied while the server runs.
    static func steal(_ server: ServerHarness, into folder: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        var copied: [String] = []
        for name in ["cvault.db", "cvault.db-wal"]
        where FileManager.default.fileExists(atPath: server.dataDir + "/" + name) {
            try FileManager.default.copyItem(atPath: server.dataDir + "/" + name, toPath: folder + "/" + name)
            copied.append(name)
        }
        return copied
    }

    /// Every needle found in the thief's files, by index and kind of needle (never the needle itself).
    static func findings(_ needles: [(what: String, bytes: [UInt8])], in folder: String) -> [String] {
        var found: [String] = []
        for (index, needle) in needles.enumerated() {
            for form in [Data(needle.bytes), Data(Hex.encode(needle.bytes).utf8)]
            where !filesContaining(form, under: folder).isEmpty {
                found.append("\(index): \(needle.what)")
            }
        }
        return found
    }

    /// Claim: no plaintext, normalized value or format-preserving token of any kind is in the stolen files,
    /// nor any unkeyed BLAKE2b or SHA-256 digest of a value, including the idempotency request hash.
    @Test func aStolenDatabaseAndWALHoldNoValueAndNoUnkeyedDigest() throws {
        let server = try ServerHarness(policy: Self.policy)
        defer { server.destroy() }
        try server.start()
        var needles: [(what: String, bytes: [UInt8])] = []
        for (index, value) in NoPlaintextOnDiskTests.values.enumerated() {
            // Every other value with limits (deterministic tokens take none), every value with an idempotency
            // key sent twice, so every row shape and an idempotency record per value exist.
            let limited = index % 2 == 0 && Self.mode(value.kind) != "deterministic"
            let purposes: [String]? = limited ? ["ops"] : nil
            let maxReveals: Int? = limited ? 5 : nil
            var params: [String: Any] = [
                "kind": value.kind, "subject": value.subject, "values": [value.given],
                "idempotency_key": "thief-\(index)",
            ]
            var limits: [String: Any] = [:]
            if let purposes { limits["purposes"] = purposes }
            if let maxReveals { limits["max_reveals"] = maxReveals }
            if !limits.isEmpty { params["limits"] = limits }
            let response = try server.call("tokenize", params)
            let token = try #require(
                (response.resultObject?["tokens"] as? [String])?.first,
                "tokenize \(value.kind): \(response.errorCode.map(String.init) ?? "-") \((response["error"] as? [String: Any])?["message"] ?? "")"
            )
            let again = try server.call("tokenize", params)
            #expect(
                (again.resultObject?["tokens"] as? [String])?.first == token,
                "the idempotent replay answers the same token"
            )
            if Self.mode(value.kind) == "format-preserving" {
                needles.append(("format-preserving \(value.kind) token", Array(token.utf8)))
            }
            needles.append(("\(value.kind) value as given", Array(value.given.utf8)))
            needles.append(("\(value.kind) normalized value", Array(value.normalized.utf8)))
            needles += Self.unkeyedDigests(
                kind: value.kind,
                subject: value.subject,
                normalized: value.normalized,
                purposes: purposes,
                maxReveals: maxReveals
            )
            #expect(try server.allRevealPlain([token], as: [value.normalized]), "the \(value.kind) value was stored")
        }

        let loot = server.dir + "/loot"
        let copied = try Self.steal(server, into: loot)
        #expect(copied.contains("cvault.db"))
        // The scanner finds what is there: a control file holding one of the digests, in binary.
        try Data(needles.last!.bytes).write(to: URL(fileURLWithPath: loot + "/control"))
        #expect(Self.findings([needles.last!], in: loot) == ["0: \(needles.last!.what)"])
        unlink(loot + "/control")

        let found = Self.findings(needles, in: loot)
        #expect(found.isEmpty, "the stolen files \(copied) hold \(found.count) of \(needles.count) needles: \(found)")
    }

    /// Claim: after `erase` answers through the socket, a copy of the database and WAL holds no byte of the
    /// subject's wrapped data key or of its ciphertexts (read from the live database before the erase).
    @Test func aDatabaseStolenAfterEraseHoldsNothingOfTheErasedSubject() throws {
        let server = try ServerHarness(policy: Self.policy)
        defer { server.destroy() }
        try server.start()
        _ = try server.tokenize(kind: "text", subject: "keep-me", values: ["a neighbour's value"])
        _ = try server.tokenize(kind: "text", subject: "forget-me", values: (0..<20).map { "erased value \($0)" })
        _ = try server.tokenize(kind: "card", subject: "forget-me", values: ["4111111111111111"])
        let database = server.dataDir + "/cvault.db"
        let table = try sqlite3(
            database,
            "SELECT name FROM sqlite_master WHERE name IN ('tokens_v2','tokens') ORDER BY name DESC LIMIT 1;"
        )
        .trimmingCharacters(in: .whitespacesAndNewlines)
        let rows = try sqlite3(
            database,
            """
            SELECT hex(wrapped_key) FROM subjects WHERE name = 'forget-me'
            UNION ALL SELECT hex(t.sealed) FROM \(table) t JOIN subjects s ON s.id = t.subject_id WHERE s.name = 'forget-me';
            """
        ).split(separator: "\n").map(String.init)
        #expect(rows.count == 22, "the wrapped key and 21 ciphertexts were read")
        let needles = rows.compactMap { Hex.decode($0) }.map { ("erased subject's bytes", $0) }
        #expect(needles.count == rows.count)

        #expect(try server.call("erase", ["subject": "forget-me"]).resultObject?["erased"] as? Int == 21)
        let loot = server.dir + "/loot-after-erase"
        _ = try Self.steal(server, into: loot)
        let found = Self.findings(needles, in: loot)
        #expect(
            found.isEmpty,
            "\(found.count) of \(needles.count) of the erased subject's blobs are still in the files"
        )
    }
}
