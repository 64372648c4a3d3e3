import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// The erasure receipt by every path: `cvault erase --receipt` offline and through a running server, and the
/// `erase` method on the socket. Each receipt verifies with `cvault statement verify` against the vault's
/// audit key (exit 0), a tampered copy exits 3, and its counts are those of what was tokenized.
@Suite struct ErasureReceiptTests {
    static func verify(_ path: String, key: String) async throws -> CVaultRun {
        try await CVaultProcess.run(["statement", "verify", path, "--public-key", key], environment: [:])
    }

    /// The receipt's body, parsed.
    static func body(_ path: String) throws -> [String: Any] {
        let bytes = try #require(FileManager.default.contents(atPath: path), "no receipt at \(path)")
        let object = try JSONSerialization.jsonObject(with: bytes) as? [String: Any]
        return try #require(object?["body"] as? [String: Any], "the receipt has no body")
    }

    /// The file with `tokens_destroyed_total` lowered by one: the same shape, a smaller claim.
    static func tamper(_ path: String, into copy: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let range = try #require(text.range(of: #""tokens_destroyed_total" : \d+"#, options: .regularExpression))
        let total = try #require(Int(text[range].split(separator: " ").last ?? ""))
        try writePrivateFile(
            copy,
            text.replacingCharacters(in: range, with: "\"tokens_destroyed_total\" : \(total - 1)")
        )
    }

    static func expectVerifies(_ path: String, key: String, tokens: [String: Int]) async throws {
        let run = try await verify(path, key: key)
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        #expect(run.lines.first?.hasPrefix("statement intact: erasure receipt, issued ") == true)
        let body = try Self.body(path)
        #expect(body["tokens_destroyed"] as? [String: Int] == tokens)
        #expect(body["tokens_destroyed_total"] as? Int == tokens.values.reduce(0, +))
        let tampered = path + ".tampered"
        try tamper(path, into: tampered)
        let refused = try await verify(tampered, key: key)
        #expect(refused.status == 3, "tampered: \(refused.stdout) \(refused.stderr)")
    }

    @Test func offlineEraseWritesAReceiptThatVerifies() async throws {
        try await VaultFixture.with { vault in
            _ = try await vault.tokenize("email", subject: "cust-r", ["a@x.org"])
            _ = try await vault.tokenize("text", subject: "cust-r", ["one", "two"])
            let key = try vault.auditPublicKeyInKeyring()
            let path = vault.root + "/receipt.json"

            let erase = try await vault.cvault("erase", "--subject", "cust-r", "--receipt", path)
            #expect(erase.status == 0, "\(erase.stderr)")
            let record = try #require(
                try vault.query("SELECT max(seq) FROM audit WHERE body LIKE '%\"event\":\"erase\"%';")
                    .split(separator: "\n").first
            )
            #expect(
                erase.lines == [
                    "3",
                    "erasure receipt written to \(path): 3 tokens destroyed (email 1, text 2), data key version 1, "
                        + "audit record \(record)",
                ]
            )
            try await Self.expectVerifies(path, key: key, tokens: ["email": 1, "text": 2])
            let body = try Self.body(path)
            #expect(body["subject"] as? String == "cust-r" && body["data_key_version"] as? Int == 1)
            #expect((body["audit_record"] as? [String: Any])?["seq"] as? Int == Int(record))

            // An existing file is refused before anything is erased.
            _ = try await vault.tokenize("text", subject: "cust-s", ["three"])
            let refused = try await vault.cvault("erase", "--subject", "cust-s", "--receipt", path)
            #expect(refused.status != 0 && refused.errorLines.first?.contains("nothing was erased") == true)
            let nowhere = try await vault.cvault("erase", "--subject", "cust-s", "--receipt", vault.root + "/no/r.json")
            #expect(nowhere.status != 0 && nowhere.errorLines.first?.contains("nothing was erased") == true)
            #expect(try await vault.counts().tokens == 1)
        }
    }

    @Test func theSocketAnswersTheReceiptAndTheCLIWritesIt() async throws {
        try await VaultFixture.with { vault in
            try await vault.withServer { server in
                let socket = server.socket
                let key = try vault.auditPublicKeyInKeyring()
                let answer = try await onThread {
                    let client = try RPCConnection(socket: socket)
                    _ = try client.tokenize(
                        kind: "phone",
                        subject: "cust-sock",
                        values: ["+14155550101", "+14155550102"]
                    )
                    _ = try client.tokenize(kind: "card", subject: "cust-sock", values: ["4111111111111111"])
                    _ = try client.tokenize(kind: "name", subject: "cust-cli", values: ["Ada Lovelace"])
                    let answer = try client.call("erase", ["subject": "cust-sock"])
                    return (erased: answer["erased"] as? Int, receipt: answer["receipt"] as? String)
                }
                // `erased` as before, and the receipt file as a string.
                #expect(answer.erased == 3)
                let receipt = try #require(answer.receipt)
                let path = vault.root + "/socket-receipt.json"
                try writePrivateFile(path, receipt)
                try await Self.expectVerifies(path, key: key, tokens: ["phone": 2, "card": 1])

                let cliPath = vault.root + "/cli-receipt.json"
                let erase = try await vault.cvault(
                    "erase",
                    "--socket",
                    socket,
                    "--subject",
                    "cust-cli",
                    "--receipt",
                    cliPath,
                    environment: ["CVAULT_PASSPHRASE": nil]
                )
                #expect(erase.status == 0, "\(erase.stderr)")
                #expect(erase.lines.first == "1")
                try await Self.expectVerifies(cliPath, key: key, tokens: ["name": 1])
                #expect(await server.stop() == 0)
            }
        }
    }
}
