import Foundation
import Testing
import VaultClient

/// The same behaviour, call for call, from one server on SQLite and from three servers on one PostgreSQL
/// database (docs/SCALING.md): one story of tokenize, reveal, refusal, limits, consent, restriction,
/// idempotency and erase, each call sent to the next server in turn, must give the same transcript on both,
/// and that transcript is the one written out here. Tokens differ between vaults, so the transcript holds
/// their shapes and equalities, never a token; values show only as whether they were the expected one.
@Suite("One SQLite server and three PostgreSQL servers behave the same", .serialized)
struct BackendParityTests {
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case sqliteOneServer = "SQLite, one server"
        case postgresThreeServers = "PostgreSQL, three servers"
        var testDescription: String { rawValue }
    }

    static let policy = """
        kinds:
          email: deterministic
          card: format-preserving
        identities:
          - name: operator
            uid: \(getuid())
            roles: [admin]
        roles:
          admin:
            tokenize: [email, phone, card, ssn, name, address, date, text]
            detokenize:
              - kinds: [email, phone, card, name, address, date, text]
                purposes: [ops, marketing]
                reveal: plain
              - kinds: [email, phone, card, ssn, name, address, date, text]
                purposes: [support]
                reveal: masked
            erase: true
            consent: true
            restrict: true
        consent_required: [marketing]

        """

    /// What both backends must answer, step by step.
    static let expected = [
        "tokenize email: tok",
        "tokenize email again on the next server: same token true",
        "tokenize card: digits16",
        "tokenize ssn: tok",
        "tokenize text: tok",
        "detokenize ops: expected/plain, expected/plain, error:denied, expected/plain",
        "detokenize support: masked/masked, masked/masked, masked/masked, masked/masked",
        "detokenize an unknown token: error:not_found",
        "tokenize an invalid email: -32602 index 0",
        "reveal with max_reveals 2: expected/plain | expected/plain | error:denied",
        "marketing without consent: error:no_consent",
        "consent granted: marketing",
        "marketing with consent: expected/plain",
        "consent withdrawn: marketing",
        "marketing after withdrawal: error:no_consent",
        "restricted: ops error:restricted",
        "unrestricted: ops expected/plain",
        "idempotent retry: same tokens true",
        "erase: 5 tokens",
        "after erase: error:not_found, error:not_found, error:not_found, error:not_found",
    ]

    @Test(arguments: Backend.allCases)
    func theStoryGivesTheExpectedTranscript(_ backend: Backend) async throws {
        let transcript = try await Self.withServers(backend) { clients in try await Self.story(Servers(clients)) }
        #expect(transcript == Self.expected)
    }

    /// Calls go to the servers in turn.
    final class Servers: @unchecked Sendable {
        let clients: [VaultClient]
        private var index = 0
        init(_ clients: [VaultClient]) { self.clients = clients }
        var next: VaultClient {
            defer { index += 1 }
            return clients[index % clients.count]
        }
    }

    static func story(_ servers: Servers) async throws -> [String] {
        var lines: [String] = []
        let email = "ada@example.com"
        let inputs: [(VaultClient.Kind, String)] = [
            ("card", "4111111111111111"), ("ssn", "123-45-6789"), ("text", "a note ✓"),
        ]
        let emailToken = try await servers.next.tokenize(kind: "email", subject: "cust-1", values: [email])[0]
        lines.append("tokenize email: \(shape(emailToken))")
        let again = try await servers.next.tokenize(kind: "email", subject: "cust-1", values: [email])[0]
        lines.append("tokenize email again on the next server: same token \(again == emailToken)")
        var tokens = [emailToken]
        var values = [email]
        for (kind, value) in inputs {
            let token = try await servers.next.tokenize(kind: kind, subject: "cust-1", values: [value])[0]
            lines.append("tokenize \(kind.rawValue): \(shape(token))")
            tokens.append(token)
            values.append(value)
        }
        let plain = try await servers.next.detokenize(tokens: tokens, purpose: "ops")
        lines.append("detokenize ops: " + render(plain, values))
        let masked = try await servers.next.detokenize(tokens: tokens, purpose: "support")
        lines.append("detokenize support: " + render(masked, values))
        let unknown = try await servers.next.detokenize(
            tokens: ["tok_" + String(repeating: "A", count: 22)],
            purpose: "ops"
        )
        lines.append("detokenize an unknown token: " + render(unknown, ["-"]))
        do {
            _ = try await servers.next.tokenize(kind: "email", subject: "cust-1", values: ["not-an-email"])
            lines.append("tokenize an invalid email: accepted")
        } catch let error as VaultClientError {
            lines.append(
                "tokenize an invalid email: \(error.code) index \(error.data["index"]?.intValue.map(String.init) ?? "-")"
            )
        }

        let limited = try await servers.next.tokenize(
            kind: "text",
            subject: "cust-2",
            values: ["twice only"],
            limits: VaultClient.TokenLimits(maxReveals: 2)
        )
        var reveals: [String] = []
        for _ in 0..<3 {
            reveals.append(render(try await servers.next.detokenize(tokens: limited, purpose: "ops"), ["twice only"]))
        }
        lines.append("reveal with max_reveals 2: " + reveals.joined(separator: " | "))

        let marketing = { (label: String) async throws -> String in
            "\(label): "
                + render(try await servers.next.detokenize(tokens: [emailToken], purpose: "marketing"), [email])
        }
        lines.append(try await marketing("marketing without consent"))
        let granted = try await servers.next.grantConsent(subject: "cust-1", purposes: ["marketing"], source: "test")
        lines.append("consent granted: " + granted.granted.joined(separator: ","))
        lines.append(try await marketing("marketing with consent"))
        let withdrawn = try await servers.next.withdrawConsent(
            subject: "cust-1",
            purposes: .listed(["marketing"]),
            source: "test"
        )
        lines.append("consent withdrawn: " + withdrawn.joined(separator: ","))
        lines.append(try await marketing("marketing after withdrawal"))

        _ = try await servers.next.restrict(subject: "cust-1", reason: "disputed")
        let restricted = try await servers.next.detokenize(tokens: [emailToken], purpose: "ops")
        lines.append("restricted: ops " + render(restricted, [email]))
        _ = try await servers.next.unrestrict(subject: "cust-1")
        let unrestricted = try await servers.next.detokenize(tokens: [emailToken], purpose: "ops")
        lines.append("unrestricted: ops " + render(unrestricted, [email]))

        let first = try await servers.next.tokenize(
            kind: "text",
            subject: "cust-1",
            values: ["retried"],
            idempotencyKey: "parity-key-1"
        )
        let retry = try await servers.next.tokenize(
            kind: "text",
            subject: "cust-1",
            values: ["retried"],
            idempotencyKey: "parity-key-1"
        )
        lines.append("idempotent retry: same tokens \(first == retry)")

        let erased = try await servers.next.erase(subject: "cust-1")
        lines.append("erase: \(erased) tokens")
        let gone = try await servers.next.detokenize(tokens: tokens, purpose: "ops")
        lines.append("after erase: " + render(gone, values))
        return lines
    }

    /// A token's kind of shape: its prefix, or its length when it is all digits (format-preserving).
    static func shape(_ token: String) -> String {
        if token.allSatisfy(\.isNumber) { return "digits\(token.count)" }
        return String(token.prefix { $0 != "_" })
    }

    /// Each item as `expected/plain`, `masked/masked` (a mask: not the value) or `error:NAME`; never a value.
    static func render(_ items: [VaultClient.DetokenizeItem], _ values: [String]) -> String {
        zip(items, values).map { item, value in
            switch item {
            case .value(let shown, let reveal):
                return (shown == value ? "expected" : reveal == "masked" ? "masked" : "other") + "/" + reveal
            case .error(let name):
                return "error:" + name
            }
        }.joined(separator: ", ")
    }

    static func withServers<T>(_ backend: Backend, _ body: ([VaultClient]) async throws -> T) async throws -> T {
        switch backend {
        case .sqliteOneServer:
            return try await VaultFixture.with(policy: policy) { vault in
                try await vault.withServer { server in
                    let client = VaultClient(socketPath: server.socket, timeout: .seconds(60))
                    defer { Task { await client.close() } }
                    return try await body([client])
                }
            }
        case .postgresThreeServers:
            let cluster = try ServerCluster(policy: policy)
            defer { cluster.destroy() }
            let clients = cluster.clients()
            defer { Task { for client in clients { await client.close() } } }
            return try await body(clients)
        }
    }
}
