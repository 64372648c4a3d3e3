import Foundation
import Testing

/// `cvault audit verify`, `export` and `head` on a real vault, and what verify says after the database is
/// tampered with using the sqlite3 shell (on copies of the data folder, so one vault serves every tamper).
@Suite("cvault audit verify, export and head")
struct AuditCommandTests {
    static let emails = ["Ada.Lovelace@Example.COM", "Ada.Lovelace@example.com", "grace@example.org"]
    static let card = ["4111 1111 1111 1111", "4111111111111111"]

    @Test("verify passes on an intact log, export filters by identity and holds no value, tampering exits 3")
    func auditLifecycle() async throws {
        try await VaultFixture.with { vault in
            // Records: 1 init; each command then records its policy_load (with the policy's hash) before its
            // operation: 2-3 and 4-5 tokenize, 6-7 detokenize (operator), 8-9 detokenize (reviewer).
            let emailTokens = try await vault.tokenize(
                "email",
                subject: "cust-audit",
                [Self.emails[0], Self.emails[2]]
            )
            let cardToken = try await vault.tokenize("card", subject: "cust-audit", [Self.card[0]])[0]
            let plain = try await vault.cvault("detokenize", "--purpose", "demo", emailTokens[0], cardToken)
            #expect(plain.status == 0, "\(plain.stderr)")

            // The same uid under another name: a second policy file makes this process "reviewer".
            let reviewerPolicy = vault.root + "/reviewer.yaml"
            try writePrivateFile(reviewerPolicy, VaultFixture.fullAccessPolicy(identity: "reviewer"))
            let masked = try await vault.cvault(
                "detokenize",
                "--purpose",
                "support",
                "--policy",
                reviewerPolicy,
                emailTokens[1]
            )
            #expect(masked.status == 0, "\(masked.stderr)")

            // verify, export and head need no passphrase.
            let noPassphrase: [String: String?] = ["CVAULT_PASSPHRASE": nil]
            let verify = try await vault.cvault("audit", "verify", environment: noPassphrase)
            #expect(verify.status == 0, "\(verify.stderr)")
            #expect(verify.stdout.hasPrefix("audit log intact: 9 records, "))
            #expect(verify.stdout.hasSuffix(" seals, last seal at record 9\n"))

            // export --identity: JSON lines of that identity only, oldest first, each with hash and prev.
            let operatorLines = try await vault.cvault(
                "audit",
                "export",
                "--identity",
                "operator",
                environment: noPassphrase
            )
            #expect(operatorLines.status == 0, "\(operatorLines.stderr)")
            let operatorRecords = try jsonObjects(operatorLines)
            #expect(operatorRecords.map { $0["seq"] as? Int } == [2, 3, 4, 5, 6, 7])
            #expect(
                operatorRecords.map { $0["event"] as? String } == [
                    "policy_load", "tokenize", "policy_load", "tokenize", "policy_load", "detokenize",
                ]
            )
            #expect(operatorRecords.allSatisfy { $0["identity"] as? String == "operator" })
            #expect(
                operatorRecords.allSatisfy {
                    ($0["hash"] as? String)?.count == 64 && ($0["prev"] as? String)?.count == 64
                }
            )

            let reviewerLines = try await vault.cvault(
                "audit",
                "export",
                "--identity",
                "reviewer",
                environment: noPassphrase
            )
            let reviewerRecords = try jsonObjects(reviewerLines)
            #expect(reviewerRecords.count == 2)
            #expect(reviewerRecords.allSatisfy { $0["identity"] as? String == "reviewer" })
            #expect(reviewerRecords.last?["purpose"] as? String == "support")

            // The detokenize record names every token only by its keyed reference: the opaque email token
            // (a bearer capability) and the format-preserving card token (which keeps the last four digits).
            let items = try #require(operatorRecords.last?["items"] as? [[String: Any]])
            #expect(items.count == 2)
            #expect((items.first?["token"] as? String)?.hasPrefix("ref:") == true)
            #expect(items.first?["token"] as? String != emailTokens[0])
            #expect(items.first?["decision"] as? String == "plain")
            #expect((items.last?["token"] as? String)?.hasPrefix("ref:") == true)
            #expect(items.last?["kind"] as? String == "card")

            // No exported line holds a value, a mask or a format-preserving token.
            let all = try await vault.cvault("audit", "export", environment: noPassphrase)
            #expect(all.lines.count == 9)
            expectNoLeak(
                all,
                of: Self.emails + Self.card + ["A***@example.com", "g***@example.org", cardToken, vault.passphrase],
                "audit export"
            )

            // A reviewer's pinned key verifies; another key does not.
            let publicKey = try vault.auditPublicKeyInKeyring()
            let pinned = try await vault.cvault("audit", "verify", "--public-key", publicKey, environment: noPassphrase)
            #expect(pinned.status == 0, "\(pinned.stderr)")
            let otherKey = try await vault.cvault(
                "audit",
                "verify",
                "--public-key",
                randomHex(32),
                environment: noPassphrase
            )
            #expect(otherKey.status == 3)
            #expect(
                otherKey.errorLines.first?.hasPrefix("cvault: error: audit log is NOT intact: the seal at record ")
                    == true
            )

            // audit head > head.json, then two more records.
            let head = try await vault.cvault("audit", "head", environment: noPassphrase)
            #expect(head.status == 0, "\(head.stderr)")
            let headFile = vault.root + "/head.json"
            try writePrivateFile(headFile, head.stdout)
            let headObject = try #require(
                try JSONSerialization.jsonObject(with: Data(head.stdout.utf8)) as? [String: Any]
            )
            #expect(headObject["seq"] as? Int == 9)
            #expect(headObject["public_key"] as? String == publicKey)
            _ = try await vault.tokenize("date", subject: "cust-audit", ["1815-12-10"])
            let withHead = try await vault.cvault("audit", "verify", "--head", headFile, environment: noPassphrase)
            #expect(withHead.status == 0, "\(withHead.stderr)")
            #expect(withHead.stdout.hasPrefix("audit log intact: 11 records, "))

            try await expectEditedBodyDetected(vault)
            try await expectCutTailDetected(vault, headFile: headFile)
        }
    }

    /// A record's body edited in place: verify exits 3 naming it.
    func expectEditedBodyDetected(_ vault: VaultFixture) async throws {
        let data = try copyDataFolder(vault, to: "data-edited")
        let database = data + "/cvault.db"
        _ = try sqlite3(database, #"UPDATE audit SET body = replace(body, '"count":2', '"count":1') WHERE seq = 3;"#)
        #expect(
            try sqlite3(database, #"SELECT count(*) FROM audit WHERE seq = 3 AND body LIKE '%"count":1%';"#) == "1\n",
            "the edit took"
        )
        let run = try await vault.cvault("audit", "verify", environment: ["CVAULT_DATA": data])
        #expect(run.status == 3)
        #expect(run.stdout == "")
        #expect(
            run.errorLines == [
                "cvault: error: audit log is NOT intact: record 3 was edited: its hash does not match its contents"
            ]
        )
        #expect(run.hintLines.count == 1)

        // status reports it too, without failing.
        let status = try await vault.cvault("status", environment: ["CVAULT_DATA": data])
        #expect(status.lines.last?.contains("CHAIN BROKEN: record 3 was edited") == true)
    }

    /// The tail cut off. With its seals left, the seals give it away; with them gone too, only a head
    /// exported earlier does.
    func expectCutTailDetected(_ vault: VaultFixture, headFile: String) async throws {
        let sealsLeft = try copyDataFolder(vault, to: "data-cut") + "/cvault.db"
        _ = try sqlite3(sealsLeft, "DELETE FROM audit WHERE seq > 3;")
        let lastSeal = try sqlite3(sealsLeft, "SELECT max(seq) FROM audit_seals;").trimmingCharacters(
            in: .whitespacesAndNewlines
        )
        let run = try await vault.cvault(
            "audit",
            "verify",
            environment: ["CVAULT_DATA": (sealsLeft as NSString).deletingLastPathComponent]
        )
        #expect(run.status == 3)
        #expect(
            run.errorLines == [
                "cvault: error: audit log is NOT intact: the log ends at record 3 but a seal covers record \(lastSeal): "
                    + "records 4...\(lastSeal) were cut off"
            ]
        )

        let data = try copyDataFolder(vault, to: "data-cut-sealed")
        let database = data + "/cvault.db"
        _ = try sqlite3(database, "DELETE FROM audit WHERE seq > 3; DELETE FROM audit_seals WHERE seq > 3;")
        #expect(
            try sqlite3(database, "SELECT count(*) FROM audit_seals;") != "0\n",
            "a seal at or before record 3 is left"
        )

        // Without a head, the anchor in the keys folder (the last seal, kept outside the database) catches it.
        let anchored = try await vault.cvault("audit", "verify", environment: ["CVAULT_DATA": data])
        #expect(anchored.status == 3)
        #expect(
            anchored.errorLines.first?.hasPrefix(
                "cvault: error: audit log is NOT intact: the log ends at record 3 but the audit anchor is record "
            ) == true,
            "\(anchored.stderr)"
        )

        // With neither, the shortened log is consistent: this is the documented limit of seals alone.
        let keysWithoutAnchor = vault.root + "/keys-without-anchor"
        try FileManager.default.createDirectory(atPath: keysWithoutAnchor, withIntermediateDirectories: false)
        try setMode(keysWithoutAnchor, 0o700)
        try FileManager.default.copyItem(atPath: vault.keyring, toPath: keysWithoutAnchor + "/cvault.keyring")
        let blind = try await vault.cvault(
            "audit",
            "verify",
            environment: ["CVAULT_DATA": data, "CVAULT_KEYS": keysWithoutAnchor]
        )
        #expect(blind.status == 0, "\(blind.stderr)")
        #expect(blind.stdout.hasPrefix("audit log intact: 3 records, "))

        let withHead = try await vault.cvault("audit", "verify", "--head", headFile, environment: ["CVAULT_DATA": data])
        #expect(withHead.status == 3)
        #expect(
            withHead.errorLines == [
                "cvault: error: audit log is NOT intact: the log ends at record 3 but the exported head is record 9: "
                    + "records 4...9 were cut off"
            ]
        )
    }

    /// A private copy of the vault's data folder (the database is closed between commands, so the copy is whole).
    func copyDataFolder(_ vault: VaultFixture, to name: String) throws -> String {
        let copy = vault.root + "/" + name
        try FileManager.default.copyItem(atPath: vault.data, toPath: copy)
        try setMode(copy, 0o700)
        for file in try FileManager.default.contentsOfDirectory(atPath: copy) { try setMode(copy + "/" + file, 0o600) }
        return copy
    }
}
