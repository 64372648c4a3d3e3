import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// `cvault statement verify` on a statement issued in-process by a real vault and on tampered copies: 0 for
/// the untouched file, 3 for any change or a wrong key, the problem on standard error, and nothing secret in
/// either stream. It is run with no vault, no passphrase and an empty environment, as a customer would.
@Suite struct StatementCommandTests {
    /// `cvault statement verify` of `bytes` written to a file of its own, plus `arguments`.
    static func verify(_ bytes: [UInt8], _ arguments: [String] = []) async throws -> CVaultRun {
        try await withTemporaryFolder { folder in
            let path = folder + "/statement.json"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            return try await CVaultProcess.run(["statement", "verify", path] + arguments, environment: [:])
        }
    }

    @Test func anUntouchedStatementExitsZeroAndTamperedCopiesExitThree() async throws {
        try await withVault(serviceYAML()) { t in
            let (statement, head, value) = try await issueSampleStatement(t)
            let key = Hex.encode(t.keyring.auditPublicKey)
            let token = try await t.tokenize(.email, [value], subject: "cust-42", as: try t.caller(UID.service))[0]
            let secrets = [value, token, "test-only passphrase, not a secret"]

            let unpinned = try await Self.verify(statement.fileBytes)
            #expect(unpinned.status == 0, "\(unpinned.stderr)")
            #expect(
                unpinned.lines.prefix(4) == [
                    "statement intact: access report, issued \(VaultClock.iso8601(t.clock.now))",
                    "covers audit record \(head.seq) (hash \(Hex.encode(head.hash)))",
                    "signed by audit key \(key)",
                    "body: subject \"cust-42\"; 2 purposes, 1 tokens",
                ]
            )
            #expect(unpinned.stdout.contains("proves only that the file is unchanged"))
            #expect(unpinned.stdout.contains("`cvault keys list`") && unpinned.stdout.contains("--public-key"))
            expectNoLeak(unpinned, of: secrets, "statement verify")

            let pinned = try await Self.verify(statement.fileBytes, ["--public-key", key])
            #expect(pinned.status == 0, "\(pinned.stderr)")
            #expect(pinned.lines.contains("signed by the expected audit key \(key)"))
            #expect(!pinned.stdout.contains("proves only"))

            let edited = Array(
                String(decoding: statement.fileBytes, as: UTF8.self).replacing("cust-42", with: "cust-24").utf8
            )
            let tampered: [(String, [UInt8], [String], String)] = [
                ("a character changed", edited, [], "the signature does not match"),
                ("whitespace added", [0x20] + statement.fileBytes, [], "not in canonical form at byte 0"),
                ("truncated", Array(statement.fileBytes.prefix(100)), [], "not JSON"),
                (
                    "another key expected", statement.fileBytes, ["--public-key", String(repeating: "ab", count: 32)],
                    "not the expected"
                ),
            ]
            for (what, bytes, arguments, words) in tampered {
                let run = try await Self.verify(bytes, arguments)
                #expect(run.status == 3, "\(what): \(run.status) \(run.stderr)")
                #expect(run.stdout.isEmpty, "\(what): \(run.stdout)")
                #expect(
                    run.errorLines.count == 1
                        && run.errorLines[0].hasPrefix("cvault: error: the statement is not authentic: ")
                        && run.errorLines[0].contains(words),
                    "\(what): \(run.stderr)"
                )
                expectNoLeak(run, of: secrets, what)
            }
        }
    }

    @Test func aMissingFileOrABadKeyIsAnOrdinaryError() async throws {
        let missing = try await CVaultProcess.run(
            ["statement", "verify", "/nonexistent/statement.json"],
            environment: [:]
        )
        #expect(missing.status == 1, "\(missing.stderr)")
        #expect(missing.errorLines.first?.contains("cannot read statement file /nonexistent/statement.json") == true)
        let badKey = try await Self.verify(Array("{}".utf8), ["--public-key", "xyz"])
        #expect(badKey.status == 1, "\(badKey.stderr)")
        #expect(badKey.errorLines.first?.contains("64 hex digits") == true)
        let usage = try await CVaultProcess.run(["statement", "verify"], environment: [:])
        #expect(usage.status == 64, "\(usage.stderr)")
    }
}
