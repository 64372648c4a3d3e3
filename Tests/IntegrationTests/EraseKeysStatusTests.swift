import Foundation
import Testing

@Suite("cvault erase, keys list and status")
struct EraseKeysStatusTests {
    @Test("erase prints the count and kills the subject's tokens only; keys list and status follow the counts")
    func eraseThenInspect() async throws {
        try await VaultFixture.with { vault in
            let emails = try await vault.tokenize("email", subject: "cust-a", ["ada@example.com", "ada.l@example.com"])
            let card = try await vault.tokenize("card", subject: "cust-b", ["4111 1111 1111 1111"])[0]
            _ = try await vault.tokenize("phone", subject: "cust-c", ["+44 20 7946 0958"])

            let before = try await keysJSON(vault)
            #expect(before.keks.count == 1)
            #expect(before.keks.first?["version"] as? Int == 1)
            #expect(before.keks.first?["state"] as? String == "active")
            #expect(before.keks.first?["data_keys"] as? Int == 3, "one data key per subject")

            let erase = try await vault.cvault("erase", "--subject", "cust-a")
            #expect(erase.status == 0, "\(erase.stderr)")
            #expect(erase.stdout == "2\n")
            #expect(erase.stderr == "")

            let reveal = try await vault.cvault("detokenize", "--purpose", "demo", emails[0], emails[1], card)
            #expect(reveal.status == 1)
            expectLines(reveal, ["", "", "4111111111111111"], "erased tokens print empty lines; others reveal")
            #expect(reveal.errorLines == ["cvault: error: token 0: not_found", "cvault: error: token 1: not_found"])

            let unknown = try await vault.cvault("erase", "--subject", "cust-nobody")
            #expect(unknown.status == 0)
            #expect(unknown.stdout == "0\n")

            // keys list, JSON: valid JSON, KEK v1 active, one data key per remaining subject.
            let after = try await keysJSON(vault)
            #expect(after.keks.count == 1)
            #expect(after.keks.first?["data_keys"] as? Int == 2)
            #expect(after.tokenKeys.count == 1)
            #expect(after.tokenKeys.first?["version"] as? Int == 1)
            #expect(after.tokenKeys.first?["state"] as? String == "active")
            #expect(after.auditPublicKey == (try vault.auditPublicKeyInKeyring()))
            let created = try #require(after.keks.first?["created"] as? String)
            #expect(created.hasSuffix("Z") && created.count == 20, "ISO 8601 UTC")

            // keys list, text.
            let list = try await vault.cvault("keys", "list")
            #expect(list.status == 0)
            #expect(
                list.lines == [
                    "KEK  STATE         CREATED               DATA KEYS",
                    "v1   active        \(created)  2",
                    "token key v1 active, created \(created)",
                    "audit public key \(after.auditPublicKey ?? "")",
                ]
            )

            // status: init, 3 tokenize, 2 erase and 1 detokenize wrote 7 audit records, sealed at the end of each command.
            let status = try await vault.cvault("status")
            #expect(status.status == 0)
            #expect(
                status.lines == [
                    "keyring   \(vault.keyring) (generation 1, sealed by passphrase)",
                    "database  \(vault.database)",
                    "KEK       v1 active; 1 version(s)",
                    "token key v1 active",
                    "subjects  2",
                    "tokens    2",
                    // init, then each of the six offline commands' policy_load and its own record.
                    "audit     13 records, last sealed at 13; chain intact",
                ]
            )
            expectNoLeak(status, of: [vault.passphrase], "status")
        }
    }

    struct Keys {
        let keks: [[String: Any]]
        let tokenKeys: [[String: Any]]
        let auditPublicKey: String?
    }

    func keysJSON(_ vault: VaultFixture) async throws -> Keys {
        let run = try await vault.cvault("keys", "list", "--json")
        try #require(run.status == 0, "\(run.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any],
            "keys list --json prints one JSON object"
        )
        #expect(Set(object.keys) == ["keks", "token_keys", "audit_public_key"])
        return Keys(
            keks: try #require(object["keks"] as? [[String: Any]]),
            tokenKeys: try #require(object["token_keys"] as? [[String: Any]]),
            auditPublicKey: object["audit_public_key"] as? String
        )
    }
}
