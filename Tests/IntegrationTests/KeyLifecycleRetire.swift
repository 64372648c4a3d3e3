import Foundation
import Testing
import VaultCore

/// `cvault keys retire`: refused while any data key uses the version (naming the count and the command that
/// fixes it) and for the active version; accepted once rewrap has moved everything, after which the version
/// has no material and every token still opens.
extension KeyLifecycleTests {
    func retireOnlyWhenUnused(_ vault: LargeVault) async throws {
        // A fresh rotation, so the version to retire certainly wraps every subject's key.
        let rotated = try await vault.cvault("keys", "rotate")
        try #require(rotated.status == 0, "keys rotate failed: \(rotated.errorLines)")
        vault.record("key_rotate")
        let listing = try await vault.keys()
        let active = listing.active
        let old = try #require(
            listing.keks.filter { $0.state == "decrypt-only" && $0.dataKeys > 0 }.map(\.version).max()
        )
        let inUse = listing.dataKeys(old)
        #expect(inUse >= LargeVault.subjects)
        try await vault.server.waitForActiveKEK(active)

        let refused = try await vault.cvault("keys", "retire", "\(old)")
        #expect(refused.status == 1)
        #expect(refused.errorLines == ["cvault: error: KEK v\(old) still wraps \(inUse) data key(s)"])
        #expect(
            refused.hintLines == [
                "cvault: hint: run `cvault keys rewrap` to move them to the active KEK, then retire again"
            ]
        )
        vault.record("key_retire", "refused")

        let activeRefused = try await vault.cvault("keys", "retire", "\(active)")
        #expect(activeRefused.status == 1)
        #expect(
            activeRefused.errorLines == ["cvault: error: KEK v\(active) is the active version and cannot be retired"]
        )
        vault.record("key_retire", "refused")
        #expect(try await vault.keys().state(old) == "decrypt-only", "a refused retire changed the keyring")

        let rewrap = try await vault.cvault("keys", "rewrap", "--batch", "200")
        #expect(rewrap.status == 0, "keys rewrap failed: \(rewrap.errorLines)")
        vault.record("key_rewrap")
        expectLines(rewrap, ["rewrapped \(inUse) data key(s) to KEK v\(active)"], "keys rewrap")

        // Every older version now wraps nothing: retire them all (the first rotation's too, if still there).
        for version in try await vault.keys().keks.filter({ $0.state == "decrypt-only" }).map(\.version) {
            let retired = try await vault.cvault("keys", "retire", "\(version)")
            #expect(retired.status == 0, "retire v\(version) failed: \(retired.errorLines)")
            if retired.status == 0 { vault.record("key_retire") }
            expectLines(retired, ["KEK v\(version) retired: its material is gone from the keyring"], "keys retire")
        }
        let after = try await vault.keys()
        #expect(after.keks.filter { $0.version != active }.allSatisfy { $0.state == "retired" && $0.dataKeys == 0 })
        #expect(after.active == active)
        let again = try await vault.cvault("keys", "retire", "\(old)")
        #expect(again.errorLines == ["cvault: error: KEK v\(old) is already retired"])
        vault.record("key_retire", "refused")

        // The keyring file lists the retired versions and still opens (material and states agree).
        let file = try KeyringFile.read(at: vault.keyring)
        #expect(file.keks.first { $0.version == old }?.state == .retired)
        // Let the server re-read the keyring (once a second), then every sampled token still opens.
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(try await vault.wrongValues(at: vault.sample, connections: 2) == 0)
    }
}
