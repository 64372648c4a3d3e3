import Foundation
import Testing
import VaultClient
import VaultTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Three `cvault serve` processes on one PostgreSQL database (`ServerCluster`), each test across all three:
/// the guarantees of one server on SQLite hold across servers (docs/SCALING.md). Needs the test cluster
/// (`CVAULT_TEST_POSTGRES`; `Tools/test` starts one); without it every test fails saying so.
@Suite(.serialized) struct MultiServerTests {
    static let allKinds = "[email, phone, card, ssn, name, address, date, text]"

    /// uid 0 (`operator`) may do everything, for purposes `ops` and `marketing` (which needs the customer's
    /// consent); `limits` (a role's `limits:` line, indented four spaces) is added to its role.
    static func policy(limits: String = "") -> String {
        """
        kinds:
          email: deterministic
          card: format-preserving
        identities:
          - name: operator
            uid: 0
            roles: [admin]
        roles:
          admin:
            tokenize: \(allKinds)
            detokenize:
              - kinds: \(allKinds)
                purposes: [ops, marketing]
                reveal: plain
            erase: true
            consent: true
        \(limits)
        consent_required: [marketing]

        """
    }

    /// Runs `body` on a fresh cluster of three servers under `policy` with a Swift client of each, then stops
    /// and removes everything.
    static func withCluster<T>(
        _ policy: String = MultiServerTests.policy(),
        _ body: (ServerCluster, [VaultClient]) async throws -> T
    ) async throws -> T {
        let cluster = try ServerCluster(policy: policy)
        let clients = cluster.clients()
        do {
            let result = try await body(cluster, clients)
            for client in clients { await client.close() }
            cluster.destroy()
            return result
        } catch {
            for client in clients { await client.close() }
            cluster.destroy()
            throw error
        }
    }

    /// What one detokenize call came to, as the tests count it.
    enum Outcome: Equatable {
        case items([VaultClient.DetokenizeItem])
        /// A call error: its code and `data.field`.
        case refused(code: Int, field: String?)
    }

    static func detokenize(_ client: VaultClient, _ tokens: [String], purpose: String = "ops") async -> Outcome {
        do {
            return .items(try await client.detokenize(tokens: tokens, purpose: purpose))
        } catch let error as VaultClientError {
            if error.code == VaultClientError.rateLimited {
                #expect((error.retryAfterMilliseconds ?? 0) > 0, "a rate refusal says when to retry")
            }
            return .refused(code: error.code, field: error.field)
        } catch {
            return .refused(code: 0, field: "\(type(of: error))")
        }
    }

    /// `calls` detokenize calls of `tokens` at once, spread round-robin over `clients`.
    static func race(_ calls: Int, _ tokens: [String], over clients: [VaultClient]) async -> [Outcome] {
        await withTaskGroup(of: Outcome.self) { group in
            for index in 0..<calls {
                group.addTask { await detokenize(clients[index % clients.count], tokens) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// The detokenize records of the audit log and, for each, how many of its items were revealed.
    static func detokenizeRecords(
        _ cluster: ServerCluster
    ) throws -> [(outcome: String, reason: String?, revealed: Int)] {
        try cluster.auditBodies().filter { ($0["event"] as? String) == "detokenize" }.map { body in
            let items = body["items"] as? [[String: Any]] ?? []
            let revealed = items.filter {
                ($0["decision"] as? String).map { ["plain", "masked"].contains($0) } ?? false
            }
            return (body["outcome"] as? String ?? "", body["reason"] as? String, revealed.count)
        }
    }

    @Test func aTokenMadeOnOneServerIsRevealedOnTheOthers() async throws {
        try await Self.withCluster { cluster, clients in
            let values = ["ada@example.com", "4111111111111111", "a note ✓"]
            var tokens: [String] = []
            for (kind, value) in zip(["email", "card", "text"], values) {
                tokens += try await clients[0].tokenize(kind: .init(rawValue: kind), subject: "cust-1", values: [value])
            }
            for client in clients.dropFirst() {
                #expect(
                    await Self.detokenize(client, tokens) == .items(values.map { .value($0, reveal: "plain") }),
                    "\(client.socketPath)"
                )
            }
            #expect(cluster.allRunning)
        }
    }

    @Test func tokensAreUniqueUnderConcurrentTokenizeOnEveryServer() async throws {
        try await Self.withCluster { cluster, clients in
            // Opaque tokens and format-preserving ones (a small space, so collisions are checked in the database).
            let made = try await withThrowingTaskGroup(of: [(String, String)].self) { group in
                for index in 0..<45 {
                    group.addTask {
                        let client = clients[index % clients.count]
                        let texts = (0..<8).map { "value \(index)-\($0)" }
                        let cards = (0..<4).map { luhnCard(prefix: "4" + String(format: "%09d", index * 4 + $0)) }
                        let textTokens = try await client.tokenize(
                            kind: .text,
                            subject: "cust-\(index % 7)",
                            values: texts
                        )
                        let cardTokens = try await client.tokenize(
                            kind: .card,
                            subject: "cust-\(index % 7)",
                            values: cards
                        )
                        return Array(zip(textTokens + cardTokens, texts + cards))
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(made.count == 45 * 12)
            #expect(Set(made.map(\.0)).count == made.count, "every token is its own")
            // Each reveals its own value on another server than the one that made it.
            for (offset, client) in clients.enumerated() {
                let share = made.enumerated().filter { $0.offset % clients.count == offset }.map(\.element)
                let items = try await client.detokenize(tokens: share.map(\.0), purpose: "ops")
                #expect(items == share.map { .value($0.1, reveal: "plain") })
            }
            #expect(cluster.allRunning)
        }
    }

    @Test func aDeterministicValueTokenizedConcurrentlyOnEveryServerGivesOneToken() async throws {
        try await Self.withCluster { cluster, clients in
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<30 {
                    group.addTask {
                        try await clients[index % clients.count].tokenize(
                            kind: .email,
                            subject: "cust-same",
                            values: ["same@example.com"]
                        )[0]
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(tokens.count == 1)
            let rows = try cluster.database.run("SELECT count(*) FROM tokens")
            #expect(rows == "1", "one row for one subject's one value")
            for client in clients {
                #expect(
                    await Self.detokenize(client, Array(tokens))
                        == .items([.value("same@example.com", reveal: "plain")])
                )
            }
        }
    }

    @Test func maxRevealsIsExactAcrossServers() async throws {
        try await Self.withCluster { cluster, clients in
            let token = try await clients[0].tokenize(
                kind: .text,
                subject: "cust-1",
                values: ["five times"],
                limits: .init(maxReveals: 5)
            )
            let outcomes = await Self.race(60, token, over: clients)
            #expect(outcomes.filter { $0 == .items([.value("five times", reveal: "plain")]) }.count == 5)
            #expect(outcomes.filter { $0 == .items([.error("denied")]) }.count == 55)
            let records = try Self.detokenizeRecords(cluster)
            #expect(records.count == 60)
            #expect(records.map(\.revealed).reduce(0, +) == 5, "exactly five reveals audited")
        }
    }

    @Test func aConsentWithdrawalOnOneServerIsInForceOnTheOthersAtOnce() async throws {
        try await Self.withCluster { _, clients in
            let email = try await clients[0].tokenize(kind: .email, subject: "cust-42", values: ["ada@example.com"])
            #expect(await Self.detokenize(clients[1], email, purpose: "marketing") == .items([.error("no_consent")]))
            _ = try await clients[2].grantConsent(subject: "cust-42", purposes: ["marketing"], source: "signup-form")
            for client in clients {
                #expect(
                    await Self.detokenize(client, email, purpose: "marketing")
                        == .items([.value("ada@example.com", reveal: "plain")])
                )
            }
            _ = try await clients[1].withdrawConsent(subject: "cust-42", purposes: .all, source: "email-footer")
            // The withdrawal has answered: no server reveals against it from now on.
            for client in clients {
                #expect(await Self.detokenize(client, email, purpose: "marketing") == .items([.error("no_consent")]))
            }
        }
    }

    @Test func anEraseOnOneServerIsNotFoundOnAll() async throws {
        try await Self.withCluster { _, clients in
            let tokens = try await clients[0].tokenize(kind: .text, subject: "cust-gone", values: ["bye", "for good"])
            let kept = try await clients[0].tokenize(kind: .text, subject: "cust-kept", values: ["still here"])
            #expect(try await clients[1].erase(subject: "cust-gone") == 2)
            for client in clients {
                #expect(
                    await Self.detokenize(client, tokens + kept)
                        == .items([.error("not_found"), .error("not_found"), .value("still here", reveal: "plain")])
                )
            }
        }
    }

    /// 10 a minute is one every 6 s. The 30 calls are sent at once; the bucket can refill only while they
    /// run, by one per 6 s of it, so the count allows for that (a limit held per server would answer 30).
    @Test func revealsPerMinuteHoldsAcrossServers() async throws {
        try await Self.withCluster(Self.policy(limits: "    limits: { reveals_per_minute: 10 }")) { cluster, clients in
            let token = try await clients[0].tokenize(kind: .text, subject: "cust-1", values: ["rated"])
            let started = ContinuousClock.now
            let outcomes = await Self.race(30, token, over: clients)
            let refilled = Int((ContinuousClock.now - started) / .seconds(6))
            let answered = outcomes.filter { $0 == .items([.value("rated", reveal: "plain")]) }.count
            #expect((10...10 + refilled).contains(answered), "answered \(answered), refill allowance \(refilled)")
            let limited = outcomes.filter {
                $0 == .refused(code: VaultClientError.rateLimited, field: "reveals_per_minute")
            }
            #expect(limited.count == 30 - answered)
            let records = try Self.detokenizeRecords(cluster)
            #expect(records.filter { $0.outcome == "ok" && $0.revealed == 1 }.count == answered)
            #expect(records.filter { $0.outcome == "refused" && $0.reason == "rate limited" }.count == 30 - answered)
        }
    }

    /// 5 misses a minute is one every 12 s. 15 calls of one unknown token each, at once over three servers:
    /// five are answered `not_found`, the rest refused and charged, so the identity is then in debt on every
    /// server and even a good token is refused.
    @Test func theMissBudgetHoldsAcrossServers() async throws {
        try await Self.withCluster(Self.policy(limits: "    limits: { misses_per_minute: 5 }")) { cluster, clients in
            let good = try await clients[0].tokenize(kind: .text, subject: "cust-1", values: ["known"])
            let started = ContinuousClock.now
            let outcomes = await Self.race(15, ["tok_AAAAAAAAAAAAAAAAAAAAAA"], over: clients)
            let refilled = Int((ContinuousClock.now - started) / .seconds(12))
            let answered = outcomes.filter { $0 == .items([.error("not_found")]) }.count
            #expect((5...5 + refilled).contains(answered), "answered \(answered), refill allowance \(refilled)")
            let missLimited = Outcome.refused(code: VaultClientError.rateLimited, field: "misses_per_minute")
            #expect(outcomes.filter { $0 == missLimited }.count == 15 - answered)
            for client in clients { #expect(await Self.detokenize(client, good) == missLimited) }
            let records = try Self.detokenizeRecords(cluster)
            #expect(records.filter { $0.outcome == "refused" && $0.reason == "miss budget" }.count == 15 - answered + 3)
        }
    }

    /// Load from the Swift client and the Python client at once, on every server; then every token made
    /// reveals its value on another server, and the one audit chain all three wrote verifies.
    @Test func concurrentSwiftAndPythonLoadThenTheSharedAuditChainVerifies() async throws {
        try await Self.withCluster { cluster, clients in
            let script = try cluster.install(script: Self.pythonLoad, named: "load.py")
            let pythons = try (0..<cluster.count).map { index in
                try cluster.launchPython(script, server: index, arguments: ["py-\(index)", "40"], tag: "load-\(index)")
            }
            let swift = try await withThrowingTaskGroup(of: [(String, String)].self) { group in
                for index in 0..<60 {
                    group.addTask {
                        let client = clients[index % clients.count]
                        let values = (0..<3).map { "swift \(index)-\($0)" }
                        let tokens = try await client.tokenize(kind: .text, subject: "sw-\(index % 5)", values: values)
                        let items = try await client.detokenize(tokens: tokens, purpose: "ops")
                        guard items == values.map({ .value($0, reveal: "plain") }) else {
                            throw HarnessError("a Swift round trip came back wrong")
                        }
                        return Array(zip(tokens, values))
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            var python: [(String, String)] = []
            for (index, (process, stdout)) in pythons.enumerated() {
                try waitForProcessExit(process, timeout: 300)
                #expect(process.terminationStatus == 0, "python load \(index) failed")
                let lines = try String(contentsOfFile: stdout, encoding: .utf8).split(separator: "\n")
                python += lines.map { line in
                    let parts = line.split(separator: " ", maxSplits: 1)
                    return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
                }
            }
            #expect(swift.count == 60 * 3)
            #expect(python.count == 3 * 40)
            let all = swift + python
            #expect(Set(all.map(\.0)).count == all.count)
            // Each token revealed by the server after the one that made it (round-robin, so another one).
            for (offset, client) in clients.enumerated() {
                let share = all.enumerated().filter { $0.offset % clients.count == offset }.map(\.element)
                let items = try await client.detokenize(tokens: share.map(\.0), purpose: "ops")
                #expect(items == share.map { .value($0.1, reveal: "plain") })
            }
            #expect(cluster.allRunning)
            let verified = try cluster.cvault(["audit", "verify"], server: 1)
            #expect(verified.status == 0, "audit verify: \(verified.stderr)")
        }
    }

    /// Tokenizes `count` values (one a call) for subject `tag` through the Python client's library and
    /// detokenizes each, printing `token value` lines, on one connection; exits 1 on any wrong answer.
    static let pythonLoad = """
        import argparse, sys
        from cvault_client import VaultClient
        p = argparse.ArgumentParser()
        p.add_argument("--socket")
        p.add_argument("--timeout", type=float)
        p.add_argument("tag")
        p.add_argument("count", type=int)
        a = p.parse_args()
        with VaultClient(a.socket, timeout=a.timeout) as vault:
            for i in range(a.count):
                value = "python %s-%d" % (a.tag, i)
                token = vault.tokenize("text", a.tag, [value])[0]
                items = vault.detokenize([token], "ops")
                if items != [{"value": value, "reveal": "plain"}]:
                    sys.exit(1)
                print(token, value)

        """
}
