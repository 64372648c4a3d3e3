import Foundation
import Testing
import VaultClient

/// VaultClient against a real `cvault serve` on a real socket. Serialized: every test starts its own server,
/// and each start runs Argon2id twice (init, unseal), which is memory-hungry.
@Suite(.serialized)
struct ClientTests {
    @Test func whoamiAndHealth() async throws {
        try await withServer { _, client in
            let me = try await client.whoami()
            #expect(me == VaultClient.Identity(name: "tester", roles: ["client"]))
            let health = try await client.health()
            #expect(health.status == "ok")
            #expect(health.activeKEK == 1)
            #expect(health.audit == "ok")
            #expect(!health.version.isEmpty)
        }
    }

    @Test func tokenizeDetokenizeErase() async throws {
        try await withServer { _, client in
            let tokens = try await client.tokenize(
                kind: .email,
                subject: "cust-1",
                values: ["ada@Example.COM", "bob@example.org"]
            )
            #expect(tokens.count == 2)
            #expect(tokens.allSatisfy { $0.hasPrefix("tok_") })
            let card = try await client.tokenize(kind: .card, subject: "cust-1", values: ["4111 1111 1111 1111"])
            #expect(card[0].count == 16 && card[0].hasSuffix("1111") && card[0] != "4111111111111111")

            let plain = try await client.detokenize(
                tokens: tokens + card + ["tok_notissued000000000000"],
                purpose: "demo"
            )
            #expect(
                plain == [
                    .value("ada@example.com", reveal: "plain"), .value("bob@example.org", reveal: "plain"),
                    .value("4111111111111111", reveal: "plain"), .error("not_found"),
                ]
            )
            let masked = try await client.detokenize(tokens: [tokens[0], card[0]], purpose: "support")
            #expect(
                masked == [.value("a***@example.com", reveal: "masked"), .value("************1111", reveal: "masked")]
            )
            let denied = try await client.detokenize(tokens: [tokens[0]], purpose: "marketing")
            #expect(denied == [.error(VaultClient.RevealError.denied)])

            #expect(try await client.erase(subject: "cust-1") == 3)
            #expect(try await client.erase(subject: "cust-1") == 0)
            let gone = try await client.detokenize(tokens: tokens, purpose: "demo")
            #expect(gone.allSatisfy { $0.error == "not_found" })
        }
    }

    @Test func limitsScopeAndIdempotency() async throws {
        try await withServer { _, client in
            let limits = VaultClient.TokenLimits(purposes: ["demo"], expiresAt: 4_102_444_800, maxReveals: 1)
            let first = try await client.tokenize(
                kind: .text,
                subject: "cust-2",
                values: ["line\none \"quoted\" \\ é"],
                limits: limits,
                idempotencyKey: "order-1"
            )
            let again = try await client.tokenize(
                kind: .text,
                subject: "cust-2",
                values: ["line\none \"quoted\" \\ é"],
                limits: limits,
                idempotencyKey: "order-1"
            )
            #expect(again == first)
            let reused = await serverError {
                try await client.tokenize(kind: .text, subject: "cust-2", values: ["other"], idempotencyKey: "order-1")
            }
            #expect(reused?.code == VaultClientError.invalidParams)
            #expect(reused?.field == "idempotency_key")

            // max_reveals 1: the first reveal works, the second is denied; purposes: support is never allowed.
            #expect(try await client.detokenize(tokens: first, purpose: "support") == [.error("denied")])
            #expect(
                try await client.detokenize(tokens: first, purpose: "demo") == [
                    .value("line\none \"quoted\" \\ é", reveal: "plain")
                ]
            )
            #expect(try await client.detokenize(tokens: first, purpose: "demo") == [.error("denied")])

            // Deterministic names: the same token across subjects within a scope, another in another scope.
            let a = try await client.tokenize(kind: .name, subject: "cust-3", values: ["Ada  Lovelace"], scope: "crm")
            let b = try await client.tokenize(kind: .name, subject: "cust-4", values: ["Ada Lovelace"], scope: "crm")
            let c = try await client.tokenize(
                kind: .name,
                subject: "cust-4",
                values: ["Ada Lovelace"],
                scope: "billing"
            )
            #expect(a == b)
            #expect(a != c)
        }
    }

    @Test func manyTasksPipelineOnOneConnection() async throws {
        try await withServer { _, client in
            // 200 tasks at once on one client: each answer must reach the task that asked.
            let results = try await withThrowingTaskGroup(of: (Int, [String], [VaultClient.DetokenizeItem]).self) {
                group in
                for i in 0..<200 {
                    group.addTask {
                        let values = (0..<(1 + i % 3)).map { "value-\(i)-\($0)" }
                        let tokens = try await client.tokenize(kind: .text, subject: "cust-\(i % 17)", values: values)
                        let items = try await client.detokenize(tokens: tokens, purpose: "demo")
                        return (i, values, items)
                    }
                }
                var all: [(Int, [String], [VaultClient.DetokenizeItem])] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(results.count == 200)
            for (_, values, items) in results {
                #expect(items == values.map { .value($0, reveal: "plain") })
            }
        }
    }

    @Test func typedServerErrors() async throws {
        try await withServer { _, client in
            let badSubject = await serverError {
                try await client.tokenize(kind: .email, subject: "no spaces", values: ["a@b.example"])
            }
            #expect(badSubject?.code == VaultClientError.invalidParams)
            #expect(badSubject?.message == "Invalid params")
            #expect(badSubject?.field == "subject")

            let badValue = await serverError {
                try await client.tokenize(
                    kind: .card,
                    subject: "cust-5",
                    values: ["4111111111111111", "4111111111111112"]
                )
            }
            #expect(badValue?.code == VaultClientError.invalidParams)
            #expect(badValue?.index == 1)
            #expect(badValue?.data["kind"] == .string("card"))
            #expect(badValue?.reason != nil)

            let unknownKind = await serverError {
                try await client.tokenize(kind: "iban", subject: "cust-5", values: ["x"])
            }
            #expect(unknownKind?.code == VaultClientError.invalidParams)
            #expect(unknownKind?.field == "kind")

            let forbidden = await serverError {
                try await client.tokenize(kind: .ssn, subject: "cust-5", values: ["123-45-6789"])
            }
            #expect(forbidden?.code == VaultClientError.forbidden)
            #expect(forbidden?.message == "forbidden")
            #expect(forbidden?.data["method"] == .string("tokenize"))

            let tooMany = await serverError {
                try await client.tokenize(
                    kind: .text,
                    subject: "cust-5",
                    values: (0...ServerFixture.maxBatch).map { "v\($0)" }
                )
            }
            #expect(tooMany?.code == VaultClientError.tooLarge)
            #expect(tooMany?.data["limit"] == .int(Int64(ServerFixture.maxBatch)))
            #expect(tooMany?.field == "values")

            let unknownMethod = await serverError { try await client.call(method: "reveal_all", params: nil) }
            #expect(unknownMethod?.code == VaultClientError.methodNotFound)
            #expect(unknownMethod?.requestID != nil)

            let badPurpose = await serverError { try await client.detokenize(tokens: ["tok_x"], purpose: "Charge!") }
            #expect(badPurpose?.code == VaultClientError.invalidParams)

            // Errors leave the connection usable.
            #expect(try await client.whoami().name == "tester")
            let raw = try await client.call(method: "whoami", params: [:])
            #expect(raw["identity"] == .string("tester"))
        }
    }

    @Test func reconnectsAfterTheServerClosedTheConnection() async throws {
        try await withServer(extraArguments: ["--max-request-bytes", "1024"]) { _, client in
            #expect(try await client.whoami().name == "tester")
            // A line over the server's limit: answered with -32004 (id null), then the server closes.
            let tooLong = await serverError {
                try await client.tokenize(kind: .text, subject: "cust-6", values: [String(repeating: "x", count: 2048)])
            }
            #expect(tooLong?.code == VaultClientError.tooLarge)
            #expect(tooLong?.data["limit"] == .int(1024))
            // The next call opens a new connection by itself (retrying once if it raced the close).
            var answered = false
            for _ in 0..<3 where !answered {
                do {
                    answered = try await client.whoami().name == "tester"
                } catch let error as VaultConnectionError where error.kind == .closed {
                    continue
                }
            }
            #expect(answered)
        }
    }

    @Test func connectionErrorsAreDistinct() async throws {
        let nowhere = VaultClient(socketPath: "/tmp/cvt-no-such-dir/none.sock", timeout: .seconds(5))
        let refused = await connectionError { try await nowhere.health() }
        #expect(refused?.kind == .cannotConnect)
        #expect(refused?.socketPath == "/tmp/cvt-no-such-dir/none.sock")
        await nowhere.close()
        #expect(await connectionError { try await nowhere.health() }?.kind == .clientClosed)

        try await withServer { fixture, client in
            let health = try await client.health()
            #expect(health.status == "ok")
            fixture.stopServer()
            let gone = await connectionError { try await client.whoami() }
            #expect(gone?.kind == .closed || gone?.kind == .cannotConnect)
            #expect(await connectionError { try await client.whoami() }?.kind == .cannotConnect)
        }
    }
}
