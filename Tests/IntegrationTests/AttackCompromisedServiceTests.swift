import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Attacker: a compromised service (docs/THREAT_MODEL.md): an attacker runs code as a service's uid and talks
/// to the socket as that identity. The vault is filled by an operator identity first; then the policy is
/// reloaded (SIGHUP) so that the test's uid is the narrow `checkout` identity, and the attack runs over the
/// raw socket. Claim: it gets only what its role and purpose allow, cannot become another identity, cannot
/// enumerate tokens, and hits its limits.
@Suite(.serialized, .timeLimit(.minutes(15)))
struct AttackCompromisedServiceTests {
    static let kinds = """
        kinds:
          card: format-preserving
          ssn: format-preserving
        """

    /// uid 0 may do everything while the vault is filled.
    static let operatorPolicy = ServerPolicies.operatorOnly(kinds: kinds)

    /// uid 0 becomes `checkout`: tokenizes cards, sees cards plainly to charge them and masked SSNs to check
    /// them, nothing else; the operator moves to uid 1001.
    static func servicePolicy(maxBatch: Int, revealsPerMinute: Int) -> String {
        """
        \(kinds)
        identities:
          - name: checkout
            uid: 0
            roles: [payments]
          - name: operator
            uid: 1001
            roles: [admin]
        roles:
          payments:
            tokenize: [card]
            detokenize:
              - kinds: [card]
                purposes: [charge]
                reveal: plain
              - kinds: [ssn]
                purposes: [verify]
                reveal: masked
            limits: { max_batch: \(maxBatch), reveals_per_minute: \(revealsPerMinute) }
        \(ServerPolicies.adminRole)

        """
    }

    /// Swaps the policy and waits (bounded) until the server says uid 0 is `checkout`.
    static func becomeCheckout(_ server: ServerHarness, maxBatch: Int = 50, revealsPerMinute: Int = 120) throws {
        try server.writePolicy(servicePolicy(maxBatch: maxBatch, revealsPerMinute: revealsPerMinute))
        server.signal(SIGHUP)
        let swapped = server.eventually { try server.call("whoami").resultObject?["identity"] as? String == "checkout" }
        try #require(swapped, "the reloaded policy applies: \(server.serverLog())")
    }

    static func items(_ response: [String: Any]) -> [[String: String]]? {
        response.resultObject?["items"] as? [[String: String]]
    }

    /// Claim: the service sees cards plainly only for `charge`, SSNs only masked and only for `verify`, and
    /// nothing of any other kind or purpose; it may tokenize cards only and may not erase.
    @Test func itGetsOnlyWhatItsRoleAndPurposeAllow() throws {
        let server = try ServerHarness(policy: Self.operatorPolicy)
        defer { server.destroy() }
        try server.start()
        let card = try server.tokenize(kind: "card", subject: "svc-1", values: ["4111111111111111"])[0]
        let ssn = try server.tokenize(kind: "ssn", subject: "svc-1", values: ["219-09-9999"])[0]
        let email = try server.tokenize(kind: "email", subject: "svc-1", values: ["ada@example.com"])[0]
        let refundOnly = try #require(
            try server.call(
                "tokenize",
                [
                    "kind": "card", "subject": "svc-1", "values": ["5555555555554444"],
                    "limits": ["purposes": ["refund"]],
                ]
            )
            .resultObject?["tokens"] as? [String]
        ).first
        try Self.becomeCheckout(server)

        let connection = try RawConnection(server.socketPath)
        let charge = Self.items(
            try connection.call(
                requestLine(
                    id: 1,
                    method: "detokenize",
                    params: ["tokens": [card, ssn, email, refundOnly], "purpose": "charge"]
                )
            )
        )
        #expect(
            charge?.map { $0["reveal"] ?? $0["error"] ?? "" } == ["plain", "denied", "denied", "denied"],
            "charge: the card plainly; the SSN, the email and a refund-only card not at all"
        )
        // Compared out of sight of #expect's expansion: a failure must not print a value.
        let chargedCard = charge?.first?["value"] == "4111111111111111"
        #expect(chargedCard, "the card comes back plainly for charge")
        let verify = Self.items(
            try connection.call(
                requestLine(
                    id: 2,
                    method: "detokenize",
                    params: ["tokens": [card, ssn, email], "purpose": "verify"]
                )
            )
        )
        #expect(
            verify?.map { $0["reveal"] ?? $0["error"] ?? "" } == ["denied", "masked", "denied"],
            "verify: the SSN masked only"
        )
        let plainSSN = verify?[1]["value"] == "219-09-9999"
        #expect(!plainSSN, "the masked SSN is not the value")
        let ops = Self.items(
            try connection.call(
                requestLine(id: 3, method: "detokenize", params: ["tokens": [card, ssn, email], "purpose": "ops"])
            )
        )
        #expect(ops?.allSatisfy { $0 == ["error": "denied"] } == true, "the operator's purpose is not the service's")

        let tokenizeEmail = try connection.call(
            requestLine(
                id: 4,
                method: "tokenize",
                params: ["kind": "email", "subject": "svc-1", "values": ["x@example.com"]]
            )
        )
        #expect(tokenizeEmail.errorCode == -32002)
        let erase = try connection.call(requestLine(id: 5, method: "erase", params: ["subject": "svc-1"]))
        #expect(erase.errorCode == -32002)
        let tokenizeCard = try connection.call(
            requestLine(
                id: 6,
                method: "tokenize",
                params: ["kind": "card", "subject": "svc-2", "values": ["4012888888881881"]]
            )
        )
        #expect((tokenizeCard.resultObject?["tokens"] as? [String])?.count == 1, "its one tokenize grant works")
    }

    /// Claim: nothing in a request changes the caller. Identity-looking members in the envelope, in params and
    /// in batch elements are refused or ignored; the caller stays `checkout` and gets nothing of the operator's.
    @Test func itCannotBecomeAnotherIdentity() throws {
        let server = try ServerHarness(policy: Self.operatorPolicy)
        defer { server.destroy() }
        try server.start()
        let email = try server.tokenize(kind: "email", subject: "svc-id", values: ["grace@example.com"])[0]
        try Self.becomeCheckout(server)

        let claims: [String: Any] = [
            "identity": "operator", "uid": 1001, "roles": ["admin"], "as": "operator", "caller": "operator",
        ]
        var lines: [String] = []
        lines.append(requestLine(id: 1, method: "whoami", params: claims))
        var envelope = try #require(
            try JSONSerialization.jsonObject(with: Data(requestLine(id: 2, method: "whoami").utf8)) as? [String: Any]
        )
        envelope.merge(claims) { old, _ in old }
        lines.append(String(decoding: try JSONSerialization.data(withJSONObject: envelope), as: UTF8.self))
        var detokenize: [String: Any] = ["tokens": [email], "purpose": "ops"]
        detokenize.merge(claims) { old, _ in old }
        lines.append(requestLine(id: 3, method: "detokenize", params: detokenize))
        lines.append(
            "[" + requestLine(id: 4, method: "whoami", params: claims) + "," + requestLine(id: 5, method: "whoami")
                + "]"
        )
        lines.append(requestLine(id: 6, method: "erase", params: ["subject": "svc-id", "identity": "operator"]))

        let connection = try RawConnection(server.socketPath)
        var answers: [[String: Any]] = []
        for line in lines {
            try connection.sendLine(line)
            let answer = try connection.readJSON()
            answers += (answer as? [[String: Any]]) ?? [(answer as? [String: Any]) ?? [:]]
        }
        #expect(answers.count == 6)
        for answer in answers {
            let identity = answer.resultObject?["identity"] as? String
            #expect(identity == nil || identity == "checkout", "answer \(answer["id"] ?? "?") names \(identity ?? "-")")
            let revealed = Self.items(answer)?.contains { $0["value"] != nil } ?? false
            #expect(!revealed, "answer \(answer["id"] ?? "?") revealed a value")
            #expect(answer.resultObject?["erased"] == nil, "answer \(answer["id"] ?? "?") erased")
        }
        #expect(
            answers.contains { $0.resultObject?["identity"] as? String == "checkout" },
            "a plain whoami answers checkout"
        )
        try server.writePolicy(Self.operatorPolicy)
        server.signal(SIGHUP)
        #expect(
            server.eventually { try server.allRevealPlain([email], as: ["grace@example.com"]) },
            "nothing was erased"
        )
    }

    /// Claim: random guesses reveal nothing. With 20,000 SSNs in the vault and a masked SSN grant, 200,000
    /// random SSN-shaped tokens, 10,000 random opaque tokens and 10,000 random card-shaped tokens reveal no
    /// customer (refusals are fine: a miss budget may stop the sweep early).
    @Test func aSweepOfRandomTokensRevealsNoCustomer() throws {
        let server = try ServerHarness(policy: Self.operatorPolicy)
        defer { server.destroy() }
        try server.start()
        for batch in 0..<20 {
            let values = (0..<1000).map { i -> String in
                let n = batch * 1000 + i
                return String(format: "%03d-%02d-%04d", 101 + n % 500, 1 + n % 99, 1 + n % 9999)
            }
            _ = try server.tokenize(kind: "ssn", subject: "sweep-\(batch)", values: values)
        }
        try Self.becomeCheckout(server, maxBatch: 1000, revealsPerMinute: 100_000_000)

        var generator = SystemRandomNumberGenerator()
        func digits(_ count: Int) -> String {
            (0..<count).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
        }
        let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var sweeps: [(purpose: String, guess: () -> String, count: Int)] = []
        sweeps.append(("verify", { "9" + digits(2) + "-" + digits(2) + "-" + digits(4) }, 200_000))
        sweeps.append(
            ("verify", { "tok_" + String((0..<22).map { _ in base62.randomElement(using: &generator)! }) }, 10_000)
        )
        sweeps.append(("charge", { digits(16) }, 10_000))

        let connection = try RawConnection(server.socketPath, timeout: 60)
        var revealed = 0
        var refusedCalls = 0
        var misses = 0
        var id = 0
        for sweep in sweeps {
            var sent = 0
            while sent < sweep.count {
                let tokens = (0..<1000).map { _ in sweep.guess() }
                sent += tokens.count
                id += 1
                let response = try connection.call(
                    requestLine(id: id, method: "detokenize", params: ["tokens": tokens, "purpose": sweep.purpose])
                )
                guard let items = Self.items(response) else {
                    refusedCalls += 1
                    continue
                }
                revealed += items.filter { $0["value"] != nil }.count
                misses += items.filter { $0["error"] != nil }.count
            }
        }
        #expect(
            revealed == 0,
            "a sweep of 220,000 guesses revealed \(revealed) customers (\(misses) misses, \(refusedCalls) calls refused)"
        )
    }

    /// Claim: the role's limits bind the service: more than `max_batch` items in one call is refused whole,
    /// a token's `max_reveals` runs out, and `reveals_per_minute` refuses the call that would exceed it.
    @Test func itHitsItsLimits() throws {
        let server = try ServerHarness(policy: Self.operatorPolicy)
        defer { server.destroy() }
        try server.start()
        let cards = try server.tokenize(
            kind: "card",
            subject: "svc-limits",
            values: (0..<50).map { cardNumber(700_000 + $0) }
        )
        let twice = try #require(
            try server.call(
                "tokenize",
                [
                    "kind": "card", "subject": "svc-limits", "values": ["4111111111111111"],
                    "limits": ["max_reveals": 2],
                ]
            )
            .resultObject?["tokens"] as? [String]
        ).first
        try Self.becomeCheckout(server, maxBatch: 50, revealsPerMinute: 120)
        let connection = try RawConnection(server.socketPath)

        let tooMany = try connection.call(
            requestLine(id: 1, method: "detokenize", params: ["tokens": cards + [twice], "purpose": "charge"])
        )
        #expect(
            tooMany.errorCode == -32004 && tooMany.errorData?["limit"] as? Int == 50
                && tooMany.errorData?["field"] as? String == "tokens"
        )
        let tooManyValues = try connection.call(
            requestLine(
                id: 2,
                method: "tokenize",
                params: ["kind": "card", "subject": "svc-limits", "values": (0..<51).map { cardNumber($0) }]
            )
        )
        #expect(tooManyValues.errorCode == -32004 && tooManyValues.errorData?["field"] as? String == "values")

        let reveals = (3...5).map { id in
            Self.items(
                (try? connection.call(
                    requestLine(id: id, method: "detokenize", params: ["tokens": [twice], "purpose": "charge"])
                )) ?? [:]
            )
        }
        #expect(
            reveals.map { $0?.first?["reveal"] ?? $0?.first?["error"] } == ["plain", "plain", "denied"],
            "max_reveals 2: the third is denied"
        )

        // 3 reveals so far; 2 x 50 more stay within the bucket of 120; the next 50 do not.
        for id in 6...7 {
            let answer = try connection.call(
                requestLine(id: id, method: "detokenize", params: ["tokens": cards, "purpose": "charge"])
            )
            #expect(Self.items(answer)?.allSatisfy { $0["reveal"] == "plain" } == true, "call \(id) is within the rate")
        }
        let limited = try connection.call(
            requestLine(id: 8, method: "detokenize", params: ["tokens": cards, "purpose": "charge"])
        )
        #expect(limited.errorCode == -32003, "reveals_per_minute refuses the call over the rate")
        #expect((limited.errorData?["retry_after_ms"] as? Int ?? 0) >= 1)
        #expect(limited.errorData?["limit"] as? Int == 120)
    }
}
