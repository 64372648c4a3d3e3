import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Attacker: a keyring thief (docs/THREAT_MODEL.md). They hold copies of `Keys/cvault.keyring` and of the
/// database, but not the passphrase, or fewer shares than the threshold; or they edit the keyring file.
/// Claim: the keyring opens nothing, the refusal reveals nothing, and an edited keyring never opens.
/// (Unit-level edits of every keyring field: KeyringTamperTests; share parsing: KeyLifecycleShamirTests.)
@Suite(.timeLimit(.minutes(10)))
struct AttackStolenKeyringTests {
    static let value = "stolen-keyring value 7f3a"

    /// The thief's copies of the keys and data folders, and the environment pointing at them (no passphrase).
    static func steal(_ vault: VaultFixture) throws -> (keys: String, environment: [String: String?]) {
        let loot = vault.root + "/loot"
        try FileManager.default.createDirectory(atPath: loot, withIntermediateDirectories: false)
        try setMode(loot, 0o700)
        try FileManager.default.copyItem(atPath: vault.keys, toPath: loot + "/Keys")
        try FileManager.default.copyItem(atPath: vault.data, toPath: loot + "/data")
        return (
            loot + "/Keys", ["CVAULT_KEYS": loot + "/Keys", "CVAULT_DATA": loot + "/data", "CVAULT_PASSPHRASE": nil]
        )
    }

    /// Claim: without the passphrase, a guessed one is refused before anything is read; the copy is whole
    /// (the right passphrase reveals through it), so the refusal is the keyring's doing.
    @Test func aWrongPassphraseOpensNothing() async throws {
        try await VaultFixture.with { vault in
            let token = try await vault.tokenize("text", subject: "cust-stolen", [Self.value])[0]
            var loot = try Self.steal(vault).environment
            for guess in ["", "password", vault.passphrase + "x", String(vault.passphrase.dropLast())] {
                loot["CVAULT_PASSPHRASE"] = guess
                let run = try await vault.cvault(["detokenize", "--purpose", "demo", token], environment: loot)
                #expect(run.status != 0, "guess \(guess.count) characters long is refused")
                let printed = !run.stdout.isEmpty  // out of sight of #expect's expansion
                #expect(!printed)
                expectNoLeak(run, of: [Self.value, vault.passphrase], "a wrong passphrase")
            }
            loot["CVAULT_PASSPHRASE"] = vault.passphrase
            let control = try await vault.cvault(["detokenize", "--purpose", "demo", token], environment: loot)
            let revealed = control.lines == [Self.value]  // out of sight of #expect's expansion
            #expect(control.status == 0 && revealed, "the control: the stolen copy is whole")
        }
    }

    /// Claim: a keyring sealed by 3-of-5 shares opens with no two of them, nor with three shares of another
    /// vault; the control opens with three of its own.
    @Test func fewerSharesThanTheThresholdOpenNothing() async throws {
        try await VaultFixture.with(initialized: false) { vault in
            let shares = vault.root + "/shares"
            let foreign = vault.root + "/foreign-shares"
            let noPassphrase: [String: String?] = ["CVAULT_PASSPHRASE": nil]
            let made = try await vault.cvault(
                ["init", "--shares", "5", "--threshold", "3", "--share-dir", shares],
                environment: noPassphrase
            )
            try #require(made.status == 0, "init --shares: \(made.errorLines)")
            let other = vault.root + "/other"
            try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: false)
            try setMode(other, 0o700)
            let otherMade = try await vault.cvault(
                ["init", "--shares", "5", "--threshold", "3", "--share-dir", foreign],
                environment: ["CVAULT_PASSPHRASE": nil, "CVAULT_KEYS": other + "/Keys", "CVAULT_DATA": other + "/data"]
            )
            try #require(otherMade.status == 0, "the other vault: \(otherMade.errorLines)")

            let stored = try await vault.cvault(
                ["tokenize", "--kind", "text", "--subject", "cust-shares"]
                    + KeyLifecycleShamirTests.shareArguments(shares, [1, 2, 3]),
                stdin: Self.value + "\n",
                environment: noPassphrase
            )
            try #require(
                stored.status == 0 && stored.lines.count == 1,
                "tokenize with three shares: \(stored.errorLines)"
            )
            let token = stored.lines[0]
            let loot = try Self.steal(vault).environment

            for (what, arguments) in [
                ("two shares", KeyLifecycleShamirTests.shareArguments(shares, [4, 5])),
                ("one share", KeyLifecycleShamirTests.shareArguments(shares, [2])),
                ("three shares of another vault", KeyLifecycleShamirTests.shareArguments(foreign, [1, 2, 3])),
            ] {
                let run = try await vault.cvault(
                    ["detokenize", "--purpose", "demo", token] + arguments,
                    environment: loot
                )
                #expect(run.status != 0, "\(what) are refused")
                let printed = !run.stdout.isEmpty
                #expect(!printed, "\(what): nothing printed")
                expectNoLeak(run, of: [Self.value], what)
            }
            let control = try await vault.cvault(
                ["detokenize", "--purpose", "demo", token]
                    + KeyLifecycleShamirTests.shareArguments(shares, [5, 3, 1]),
                environment: loot
            )
            let revealed = control.lines == [Self.value]  // out of sight of #expect's expansion
            #expect(control.status == 0 && revealed, "the control: three of its own shares open it")
        }
    }

    /// One edit of the stolen keyring's JSON.
    struct Edit: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let apply: @Sendable (inout [String: Any]) -> Void
    }

    static func flip(_ base64: Any?) -> String {
        var bytes = [UInt8](Data(base64Encoded: base64 as? String ?? "") ?? Data([0]))
        bytes[bytes.count / 2] ^= 0x01
        return Data(bytes).base64EncodedString()
    }

    static let edits: [Edit] = [
        // The control: the file rewritten by this test's JSON writer, unchanged, still opens.
        Edit(testDescription: "rewritten unchanged (control)") { _ in },
        Edit(testDescription: "Argon2id opslimit lowered") { json in
            var seal = json["seal"] as? [String: Any] ?? [:]
            seal["opslimit"] = 1
            json["seal"] = seal
        },
        Edit(testDescription: "Argon2id memlimit lowered") { json in
            var seal = json["seal"] as? [String: Any] ?? [:]
            seal["memlimit"] = 8 * 1024 * 1024
            json["seal"] = seal
        },
        Edit(testDescription: "sealed root one bit flipped") { json in
            var seal = json["seal"] as? [String: Any] ?? [:]
            seal["sealed_root"] = flip(seal["sealed_root"])
            json["seal"] = seal
        },
        Edit(testDescription: "sealed keys one bit flipped") { $0["sealed_keys"] = flip($0["sealed_keys"]) },
        Edit(testDescription: "audit public key replaced") {
            $0["audit_public_key"] = String(repeating: "ab", count: 32)
        },
        Edit(testDescription: "KEK made decrypt-only") { json in
            var keks = json["keks"] as? [[String: Any]] ?? [[:]]
            keks[0]["state"] = "decrypt-only"
            json["keks"] = keks
        },
    ]

    /// Claim: a keyring file edited by the thief (weaker KDF parameters, a flipped bit, swapped public
    /// metadata) does not open even with the right passphrase, and nothing is revealed.
    @Test(arguments: edits)
    func anEditedKeyringOpensNothing(_ edit: Edit) async throws {
        try await VaultFixture.with { vault in
            let token = try await vault.tokenize("text", subject: "cust-edited", [Self.value])[0]
            let (keys, environment) = try Self.steal(vault)
            var loot = environment
            loot["CVAULT_PASSPHRASE"] = vault.passphrase
            let file = keys + "/cvault.keyring"
            var json = try #require(try JSONSerialization.jsonObject(with: fileBytes(file) ?? Data()) as? [String: Any])
            edit.apply(&json)
            try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(
                to: URL(fileURLWithPath: file)
            )
            try setMode(file, 0o600)
            let run = try await vault.cvault(["detokenize", "--purpose", "demo", token], environment: loot)
            if edit.testDescription.hasSuffix("(control)") {
                let revealed = run.lines == [Self.value]  // out of sight of #expect's expansion
                #expect(run.status == 0 && revealed, "the control opens: \(run.errorLines)")
                return
            }
            #expect(run.status != 0, "\(edit.testDescription): refused")
            let printed = !run.stdout.isEmpty
            #expect(!printed)
            expectNoLeak(run, of: [Self.value, vault.passphrase], edit.testDescription)
        }
    }
}
