import Foundation
import Testing

/// A vault sealed by Shamir shares (`init --shares 5 --threshold 3 --share-dir`): a server starts with every
/// 3-of-5 combination and serves the same keys; too few, a repeated and a corrupted share are refused with
/// the documented errors.
@Suite struct KeyLifecycleShamirTests {
    static let combinations: [[Int]] = {
        var all: [[Int]] = []
        for a in 1...3 { for b in (a + 1)...4 { for c in (b + 1)...5 { all.append([a, b, c]) } } }
        return all
    }()

    /// The vault's environment without any passphrase: only shares open it.
    static let noPassphrase: [String: String?] = ["CVAULT_PASSPHRASE": nil]

    static func shareArguments(_ shares: String, _ indices: [Int]) -> [String] {
        indices.flatMap { ["--unseal-share", "\(shares)/cvault-share-\($0).txt"] }
    }

    @Test func everyThreeOfFiveCombinationServesTheSameVault() async throws {
        #expect(Self.combinations.count == 10 && Set(Self.combinations.map(Set.init)).count == 10)
        try await VaultFixture.with(initialized: false) { vault in
            let shares = vault.root + "/shares"
            let made = try await vault.cvault(
                ["init", "--shares", "5", "--threshold", "3", "--share-dir", shares],
                environment: Self.noPassphrase
            )
            try #require(made.status == 0, "init --shares failed: \(made.errorLines)")
            #expect(
                made.lines.first
                    == "created keyring \(vault.keyring) (KEK v1 active, sealed by 5 shares, any 3 open it)"
            )
            for i in 1...5 {
                #expect(
                    made.lines.contains(
                        "wrote share \(i) to \(shares)/cvault-share-\(i).txt: give it to its holder and delete this copy"
                    )
                )
                #expect(permissions("\(shares)/cvault-share-\(i).txt") == 0o600)
            }
            #expect(permissions(shares) == 0o700)
            // The keyring and the output hold no share.
            let keyringText = String(decoding: fileBytes(vault.keyring) ?? Data(), as: UTF8.self)
            for i in 1...5 {
                let y = String(decoding: fileBytes("\(shares)/cvault-share-\(i).txt") ?? Data(), as: UTF8.self).split(
                    separator: " "
                )[4]
                let shown = keyringText.contains(y) || made.stdout.contains(y)
                #expect(!shown, "share \(i)'s secret part is in the keyring or the output")
            }

            let socketFolder = try makeSocketFolder()
            defer { try? FileManager.default.removeItem(atPath: socketFolder) }
            let socket = socketFolder + "/s.sock"
            var environment = vault.environment
            environment["CVAULT_PASSPHRASE"] = nil
            var token: String?
            let value = "shamir value \(randomHex(8))"
            for combination in Self.combinations {
                let server = try await ServerProcess.start(
                    environment: environment,
                    folder: vault.root,
                    socket: socket,
                    extra: Self.shareArguments(shares, combination)
                )
                let answers: (String?, Int?, String?)
                do {
                    let made = token
                    answers = try await onThread {
                        let connection = try RPCConnection(socket: socket)
                        let health = try connection.call("health")
                        let token =
                            try made ?? connection.tokenize(kind: "text", subject: "cust-shamir", values: [value])[0]
                        return (
                            health["status"] as? String, health["active_kek"] as? Int,
                            try connection.detokenize([token])[0] == value ? token : nil
                        )
                    }
                } catch {
                    await server.stop()
                    throw error
                }
                let status = await server.stop()
                #expect(answers.0 == "ok" && answers.1 == 1, "shares \(combination)")
                #expect(answers.2 != nil, "shares \(combination) do not reveal what the first server stored")
                #expect(status == 0, "the server with shares \(combination) did not stop cleanly")
                token = token ?? answers.2
            }

            let verified = try await vault.cvault(
                ["verify"] + Self.shareArguments(shares, [2, 4, 5]),
                environment: Self.noPassphrase
            )
            #expect(verified.status == 0, "verify with shares failed: \(verified.errorLines)")
            #expect(
                verified.lines.first?.hasPrefix("verified: 1 tokens of 1 subjects authenticate; audit log intact (")
                    == true
            )
        }
    }

    /// Shares that cannot be written must not leave a keyring behind: nobody could ever open it, and `init`
    /// would refuse to try again ("a vault already exists").
    @Test func aShareFolderThatCannotBeMadeLeavesNoVault() async throws {
        try await VaultFixture.with(initialized: false) { vault in
            let failed = try await vault.cvault(
                ["init", "--shares", "5", "--threshold", "3", "--share-dir", "/proc/cvault-shares"],
                environment: Self.noPassphrase
            )
            #expect(failed.status == 1)
            #expect(
                failed.errorLines.first?.hasPrefix("cvault: error: cannot create folder /proc/cvault-shares") == true
            )
            #expect(!failed.stdout.contains("created keyring"))
            #expect(
                !FileManager.default.fileExists(atPath: vault.keyring)
                    && !FileManager.default.fileExists(atPath: vault.database)
            )
            // A bad threshold, found after the share folder was made: the folder goes too.
            let shares = vault.root + "/shares"
            let bad = try await vault.cvault(
                ["init", "--shares", "5", "--threshold", "6", "--share-dir", shares],
                environment: Self.noPassphrase
            )
            #expect(bad.status == 1)
            #expect(
                !FileManager.default.fileExists(atPath: shares)
                    && !FileManager.default.fileExists(atPath: vault.keyring)
            )
            let retried = try await vault.cvault(
                ["init", "--shares", "5", "--threshold", "3", "--share-dir", shares],
                environment: Self.noPassphrase
            )
            #expect(retried.status == 0, "init after a failed one: \(retried.errorLines)")
            #expect(retried.lines.filter { $0.hasPrefix("wrote share ") }.count == 5)
        }
    }

    @Test func tooFewRepeatedCorruptedOrMissingSharesAreRefused() async throws {
        try await VaultFixture.with(initialized: false) { vault in
            let shares = vault.root + "/shares"
            let made = try await vault.cvault(
                ["init", "--shares", "5", "--threshold", "3", "--share-dir", shares],
                environment: Self.noPassphrase
            )
            try #require(made.status == 0, "init --shares failed: \(made.errorLines)")

            let two = try await vault.cvault(
                ["verify"] + Self.shareArguments(shares, [1, 2]),
                environment: Self.noPassphrase
            )
            #expect(two.status == 1)
            #expect(two.errorLines == ["cvault: error: 2 share(s) given; this keyring needs 3"])
            #expect(two.hintLines == ["cvault: hint: give 3 different shares with --unseal-share"])

            let repeated = try await vault.cvault(
                ["verify"] + Self.shareArguments(shares, [3, 1, 3]),
                environment: Self.noPassphrase
            )
            #expect(repeated.status == 1)
            #expect(repeated.errorLines == ["cvault: error: the same share was given more than once (share 3)"])

            // One character of share 2's secret part changed, in a private copy.
            let original = String(decoding: fileBytes(shares + "/cvault-share-2.txt") ?? Data(), as: UTF8.self)
            var fields = original.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
            try #require(fields.count == 6)
            var y = Array(fields[4])
            y[20] = y[20] == "a" ? "b" : "a"
            fields[4] = String(y)
            let corrupted = vault.root + "/corrupted-share.txt"
            try writePrivateFile(corrupted, fields.joined(separator: " ") + "\n")
            let bad = try await vault.cvault(
                ["verify", "--unseal-share", corrupted] + Self.shareArguments(shares, [4, 5]),
                environment: Self.noPassphrase
            )
            #expect(bad.status == 1)
            #expect(bad.errorLines == ["cvault: error: \(corrupted) is corrupted (its check digits do not match)"])
            expectNoLeak(bad, of: [fields[4], String(original.split(separator: " ")[4])], "a corrupted share")

            // No shares and no terminal to type them on.
            let none = try await vault.cvault(["verify"], environment: Self.noPassphrase)
            #expect(none.status == 1)
            #expect(none.errorLines == ["cvault: error: this keyring is sealed by shares and none were given"])

            // A server never starts on too few shares.
            let socketFolder = try makeSocketFolder()
            defer { try? FileManager.default.removeItem(atPath: socketFolder) }
            var environment = vault.environment
            environment["CVAULT_PASSPHRASE"] = nil
            let server = try BackgroundCVault(
                ["serve", "--socket", socketFolder + "/s.sock"] + Self.shareArguments(shares, [5, 1]),
                environment: environment,
                folder: vault.root,
                name: "serve-two-shares"
            )
            let status = await server.waitForExit(timeout: .seconds(60))
            if status == nil { server.signal(SIGKILL) }
            #expect(status == 1)
            #expect(server.errorLines.first == "cvault: error: 2 share(s) given; this keyring needs 3")
            #expect(!FileManager.default.fileExists(atPath: socketFolder + "/s.sock"))
        }
    }
}
