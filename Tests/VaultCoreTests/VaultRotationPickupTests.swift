import Testing
import VaultTestSupport

@testable import VaultCore

/// A running vault must never wrap a new subject's data key with a KEK that another process (the CLI) has
/// already demoted: otherwise `rotate`, `rewrap` and `retire` finishing before the server's once-a-second
/// reload would leave that subject unreadable.
@Suite struct VaultRotationPickupTests {
    @Test func aNewSubjectIsWrappedByTheKEKActiveOnDiskEvenBeforeTheReload() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            _ = try await t.tokenize(.name, ["Before Rotation"], subject: "cust-before", as: svc)
            // Another process rotates: the vault's in-memory keyring still says v1 is active.
            let rotated = try await t.keyring.rotateKEK()
            #expect(rotated.activeKEKVersion == 2)
            #expect(t.vault.keyring.activeKEKVersion == 1)
            let tokens = try await t.tokenize(.name, ["After Rotation"], subject: "cust-after", as: svc)
            let byKEK = try await t.vault.stats().dataKeysByKEK
            #expect(byKEK[2] == 1, "the new subject's key is wrapped by v2, not the demoted v1")
            #expect(byKEK[1] == 1)
            #expect(t.vault.keyring.activeKEKVersion == 2, "the vault picked up the rotation")
            // A rewrap and retire of v1 now leave every token readable.
            try await t.vault.rewrap(caller: nil)
            let retired = try await t.vault.keyring.retireKEK(
                version: 1,
                dataKeysUsingIt: try await t.vault.stats().dataKeysByKEK[1] ?? 0
            )
            #expect(retired.kek(version: 1) == nil)
            try await t.vault.reloadKeyringIfChanged()
            let items = try await t.vault.detokenize(tokens, purpose: "view", caller: svc)
            #expect(items == [.value("After Rotation", .plain)])
        }
    }

    /// Another process rotated and rewrapped every data key under the new KEK: this vault's keyring lacks it,
    /// so the first attempt stops (`KeyringOutdated`), the keyring is reloaded, and the second reveals.
    @Test func aDetokenizeAfterARewrapElsewhereReloadsTheKeyringAndReveals() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            let tokens = try await t.tokenize(.name, ["Moved Along"], subject: "cust-moved", as: svc)
            let rotated = try await t.keyring.rotateKEK()
            let elsewhere = Vault(keyring: rotated, store: t.store, policies: t.policies, clock: t.clock.vaultClock)
            try await elsewhere.rewrap(caller: nil)
            #expect(try await t.vault.stats().dataKeysByKEK == [2: 1])
            #expect(t.vault.keyring.kek(version: 2) == nil, "this vault has not picked up the rotation yet")
            let items = try await t.vault.detokenize(tokens, purpose: "view", caller: svc)
            #expect(items == [.value("Moved Along", .plain)])
            #expect(t.vault.keyring.activeKEKVersion == 2, "the retry reloaded the keyring")
        }
    }

    /// A data key wrapped by a KEK that neither this vault's keyring nor the file holds: the retry meets the
    /// same gap, and the caller is told the key is missing (`sealed`), never an internal error.
    @Test func aKEKMissingOnDiskTooIsAnsweredAsSealedAfterTheRetry() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            // Another process makes v2, wraps a new subject's key with it, then retires v2 with that key still
            // under it (the CLI refuses this; the keyring API is told 0).
            let rotated = try await t.keyring.rotateKEK()
            let elsewhere = Vault(keyring: rotated, store: t.store, policies: t.policies, clock: t.clock.vaultClock)
            let tokens = try await elsewhere.tokenize(
                TokenizeRequest(kind: .name, subject: "cust-left", values: ["Left Behind"]),
                caller: svc
            )
            _ = try await rotated.rotateKEK().retireKEK(version: 2, dataKeysUsingIt: 0)
            let outcome = await #expect(throws: VaultError.self) {
                try await t.vault.detokenize(tokens, purpose: "view", caller: svc)
            }
            #expect(outcome?.code == .sealed)
            #expect(t.vault.keyring.activeKEKVersion == 3, "the retry reloaded the keyring")
        }
    }
}
