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
            let rotated = try t.keyring.rotateKEK()
            #expect(rotated.activeKEKVersion == 2)
            #expect(t.vault.keyring.activeKEKVersion == 1)
            let tokens = try await t.tokenize(.name, ["After Rotation"], subject: "cust-after", as: svc)
            let byKEK = try await t.vault.stats().dataKeysByKEK
            #expect(byKEK[2] == 1, "the new subject's key is wrapped by v2, not the demoted v1")
            #expect(byKEK[1] == 1)
            #expect(t.vault.keyring.activeKEKVersion == 2, "the vault picked up the rotation")
            // A rewrap and retire of v1 now leave every token readable.
            try await t.vault.rewrap(caller: nil)
            let retired = try t.vault.keyring.retireKEK(
                version: 1,
                dataKeysUsingIt: try await t.vault.stats().dataKeysByKEK[1] ?? 0
            )
            #expect(retired.kek(version: 1) == nil)
            try t.vault.reloadKeyringIfChanged()
            let items = try await t.vault.detokenize(tokens, purpose: "view", caller: svc)
            #expect(items == [.value("After Rotation", .plain)])
        }
    }
}
