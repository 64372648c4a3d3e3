import Foundation
import Testing

/// `keys passphrase` makes a new root key: the review's attack (an old passphrase, which opens an old copy
/// of the keyring, plus any later keyring file) must open nothing, through the real binary.
@Suite struct PassphraseRootKeyTests {
    @Test func anOldPassphraseWithALaterKeyringFileOpensNothing() async throws {
        try await VaultFixture.with { vault in
            let stored = try await vault.cvault(
                ["tokenize", "--kind", "text", "--subject", "cust-1"],
                stdin: "kept across\n"
            )
            try #require(stored.status == 0 && stored.lines.count == 1, "\(stored.stderr)")
            let oldFile = try #require(fileBytes(vault.keyring))
            let new = "a new passphrase " + randomHex(8)
            let changed = try await vault.cvault(["keys", "passphrase"], environment: ["CVAULT_NEW_PASSPHRASE": new])
            #expect(changed.status == 0, "\(changed.stderr)")
            let rotated = try await vault.cvault(["keys", "rotate"], environment: ["CVAULT_PASSPHRASE": new])
            #expect(rotated.status == 0, "\(rotated.stderr)")
            let laterFile = try #require(fileBytes(vault.keyring))

            // The attacker's file: the later keyring with the old seal, which the old passphrase opens.
            var spliced = try #require(try JSONSerialization.jsonObject(with: laterFile) as? [String: Any])
            let oldObject = try #require(try JSONSerialization.jsonObject(with: oldFile) as? [String: Any])
            spliced["seal"] = oldObject["seal"]
            try JSONSerialization.data(withJSONObject: spliced, options: [.sortedKeys]).write(
                to: URL(fileURLWithPath: vault.keyring)
            )
            let attack = try await vault.cvault(["detokenize", "--purpose", "demo"], stdin: stored.lines[0] + "\n")
            #expect(
                attack.status != 0 && attack.stdout.isEmpty,
                "the old passphrase opened a keyring written after the change"
            )
            #expect(
                attack.errorLines == [
                    "cvault: error: keyring \(vault.keyring) was altered: its metadata or key material fails authentication"
                ]
            )
            expectNoLeak(attack, of: ["kept across", vault.passphrase, new], "spliced keyring")

            // The real later file and the new passphrase: everything still decrypts.
            try laterFile.write(to: URL(fileURLWithPath: vault.keyring))
            let shown = try await vault.cvault(
                ["detokenize", "--purpose", "demo"],
                stdin: stored.lines[0] + "\n",
                environment: ["CVAULT_PASSPHRASE": new]
            )
            let revealed = shown.status == 0 && shown.lines == ["kept across"]
            #expect(
                revealed,
                "the new passphrase does not reveal the value stored before the change (\(shown.errorLines))"
            )
        }
    }
}
