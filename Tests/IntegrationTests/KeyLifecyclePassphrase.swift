import Foundation
import Testing
import VaultCore

/// `cvault keys passphrase` killed with SIGKILL at random points: afterwards the keyring opens with the old or
/// the new passphrase, never neither, and a leftover temporary file breaks nothing.
extension KeyLifecycleTests {
    func passphraseChangeKilled(_ vault: LargeVault) async throws {
        // One delay in each stretch of the command's life (open with Argon2id, seal with Argon2id, write,
        // audit), drawn at random and in random order; how far each gets depends on the machine's load.
        let delays = [0.05...0.5, 0.5...1.0, 1.0...1.6, 1.6...2.4].map { Double.random(in: $0) }.shuffled()
        for (attempt, delay) in delays.enumerated() {
            let old = vault.currentPassphrase
            let new = "new-passphrase-\(randomHex(12))"
            let saltBefore = try KeyringFile.read(at: vault.keyring).seal.salt
            let change = try vault.background(["keys", "passphrase"], environment: ["CVAULT_NEW_PASSPHRASE": new])
            try await Task.sleep(for: .milliseconds(Int(delay * 1_000)))
            let (killed, status) = await change.kill9()
            if !killed {
                #expect(
                    status == 0,
                    "attempt \(attempt): keys passphrase exited with \(status.map(String.init) ?? "no status"): \(change.errorLines)"
                )
            }
            // The file parses at every point (it is replaced by rename), and its seal tells which passphrase
            // sealed it; that one must open it.
            let saltAfter = try KeyringFile.read(at: vault.keyring).seal.salt
            let expected = saltAfter == saltBefore ? old : new
            let opens = try await Self.opens(vault.keyring, with: expected)
            if !opens {
                let other = try await Self.opens(vault.keyring, with: expected == old ? new : old)
                Issue.record(
                    "attempt \(attempt): the keyring does not open with the passphrase its seal names (the other one \(other ? "does" : "does not either"))"
                )
            }
            if expected == new {
                vault.passphraseChanged(to: new)
                if !killed { vault.record("key_passphrase") }
            } else if !killed {
                Issue.record("attempt \(attempt): keys passphrase exited with 0 but the keyring was not re-sealed")
            }
        }

        // One more, left to finish: the temporary file of any earlier kill is gone, the old passphrase is
        // refused, and the server (which holds the old root key and cannot read the new file) keeps serving
        // with the keys it holds.
        let old = vault.currentPassphrase
        let new = "final-passphrase-\(randomHex(12))"
        let run = try await vault.cvault("keys", "passphrase", environment: ["CVAULT_NEW_PASSPHRASE": new])
        #expect(run.status == 0, "keys passphrase failed: \(run.errorLines)")
        expectLines(
            run,
            ["keyring re-sealed under the new passphrase: the old passphrase (or shares) no longer opens it"],
            "keys passphrase"
        )
        expectNoLeak(run, of: [old, new], "keys passphrase")
        if run.status == 0 {
            vault.passphraseChanged(to: new)
            vault.record("key_passphrase")
        }
        #expect(!FileManager.default.fileExists(atPath: vault.keyring + ".tmp"))
        #expect(try await Self.opens(vault.keyring, with: new))
        let refused = try await vault.cvault("keys", "rotate", environment: ["CVAULT_PASSPHRASE": old])
        #expect(refused.status == 1)
        #expect(refused.errorLines == ["cvault: error: the passphrase does not open keyring \(vault.keyring)"])
        #expect(try await vault.wrongValues(at: Array(vault.sample.prefix(500))) == 0)
    }

    /// Whether `passphrase` opens the keyring (Argon2id in this process, on a thread of its own).
    static func opens(_ keyring: String, with passphrase: String) async throws -> Bool {
        try await onThread {
            var bytes = Array(passphrase.utf8)
            do {
                _ = try Keyring.open(at: keyring, credential: .passphrase(SecureBytes(consuming: &bytes)))
                return true
            } catch let error as VaultError where error.code == .wrongPassphrase {
                return false
            }
        }
    }
}
