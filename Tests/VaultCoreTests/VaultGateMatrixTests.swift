import Testing
import VaultTestSupport

@testable import VaultCore

/// Every (identity, kind, purpose) of a policy with several roles, through the real vault: exactly the
/// reveals the policy grants, in the mode it grants, and nothing else.
@Suite struct VaultGateMatrixTests {
    static let policy = """
        kinds:
          email: deterministic
          card: format-preserving
          ssn: format-preserving
        identities:
          - name: intake
            uid: 3001
            roles: [ingest]
          - name: checkout
            uid: 3002
            roles: [payments]
          - name: helpdesk
            uid: 3003
            roles: [support]
          - name: analyst
            uid: 3004
            roles: [fraud]
          - name: lead
            uid: 3005
            roles: [support, fraud]
          - name: idle
            uid: 3006
            roles: []
        roles:
          ingest:
            tokenize: [email, phone, card, ssn, name, date]
          payments:
            tokenize: [card]
            detokenize:
              - kinds: [card]
                purposes: [charge, refund]
                reveal: plain
              - kinds: [email]
                purposes: [receipt]
                reveal: masked
          support:
            detokenize:
              - kinds: [email, phone, name]
                purposes: [support]
                reveal: masked
              - kinds: [card]
                purposes: [support, refund]
                reveal: masked
            erase: true
          fraud:
            detokenize:
              - kinds: [email, card, ssn]
                purposes: [fraud-review]
                reveal: plain
              - kinds: [email]
                purposes: [support]
                reveal: plain
              - kinds: [date]
                purposes: [fraud-review]
                reveal: masked

        """

    static let identities = [
        "intake": UInt32(3001), "checkout": 3002, "helpdesk": 3003, "analyst": 3004, "lead": 3005, "idle": 3006,
    ]
    static let kinds: [Kind] = [.email, .phone, .card, .ssn, .name, .date]
    static let purposes: [Purpose] = ["charge", "refund", "receipt", "support", "fraud-review", "marketing"]

    /// The table, written from the policy by hand: every grant there is. Anything absent is denied.
    static let grants: [String: RevealMode] = [
        "checkout card charge": .plain, "checkout card refund": .plain, "checkout email receipt": .masked,
        "helpdesk email support": .masked, "helpdesk phone support": .masked, "helpdesk name support": .masked,
        "helpdesk card support": .masked, "helpdesk card refund": .masked,
        "analyst email fraud-review": .plain, "analyst card fraud-review": .plain, "analyst ssn fraud-review": .plain,
        "analyst email support": .plain, "analyst date fraud-review": .masked,
        // Two roles: the union, and where both grant, the most revealing (fraud's plain email for support).
        "lead email support": .plain, "lead phone support": .masked, "lead name support": .masked,
        "lead card support": .masked, "lead card refund": .masked,
        "lead email fraud-review": .plain, "lead card fraud-review": .plain, "lead ssn fraud-review": .plain,
        "lead date fraud-review": .masked,
    ]

    @Test func everyIdentityKindAndPurpose() async throws {
        try await withVault(Self.policy) { t in
            let intake = try t.caller(3001)
            var tokens: [String] = []
            for kind in Self.kinds {
                tokens += try await t.tokenize(kind, [Sample.of(kind).raw], subject: "cust-1", as: intake)
            }
            var checked = 0
            for (name, uid) in Self.identities.sorted(by: { $0.value < $1.value }) {
                let caller = try t.caller(uid)
                #expect(caller.identity.name == name)
                for purpose in Self.purposes {
                    // One batch per identity and purpose, a token of every kind: each item decided on its own.
                    let expected: [RevealItem] = Self.kinds.map { kind in
                        let sample = Sample.of(kind)
                        switch Self.grants["\(name) \(kind.rawValue) \(purpose)"] {
                        case .plain: return .value(sample.normalized, .plain)
                        case .masked: return .value(sample.masked, .masked)
                        case nil: return .error(.denied)
                        }
                    }
                    expectItems(
                        try await t.vault.detokenize(tokens, purpose: purpose, caller: caller),
                        expected,
                        "\(name) for \(purpose):"
                    )
                    checked += Self.kinds.count
                }
            }
            #expect(checked == Self.identities.count * Self.kinds.count * Self.purposes.count)
            // Every grant of the table was exercised (no typo made a grant unreachable).
            #expect(
                Self.grants.keys.allSatisfy { key in
                    let parts = key.split(separator: " ").map(String.init)
                    return Self.identities[parts[0]] != nil && Kind(rawValue: parts[1]).map(Self.kinds.contains) == true
                        && Self.purposes.map(\.name).contains(parts[2])
                }
            )
        }
    }

    @Test func oneDenialNeverHidesTheOthers() async throws {
        try await withVault(Self.policy) { t in
            let intake = try t.caller(3001)
            let checkout = try t.caller(3002)
            let card = Sample.of(.card)
            let email = Sample.of(.email)
            let ssn = Sample.of(.ssn)
            let c = try await t.tokenize(.card, [card.raw], subject: "cust-1", as: intake)[0]
            let e = try await t.tokenize(.email, [email.raw], subject: "cust-1", as: intake)[0]
            let s = try await t.tokenize(.ssn, [ssn.raw], subject: "cust-1", as: intake)[0]
            let unknown = "tok_" + String(repeating: "Z", count: 22)
            let batch = [s, c, unknown, e, s, c]
            expectItems(
                try await t.vault.detokenize(batch, purpose: "charge", caller: checkout),
                [
                    .error(.denied), .value(card.normalized, .plain), .error(.notFound), .error(.denied),
                    .error(.denied),
                    .value(card.normalized, .plain),
                ]
            )
            expectItems(
                try await t.vault.detokenize(batch, purpose: "receipt", caller: checkout),
                [
                    .error(.denied), .error(.denied), .error(.notFound), .value(email.masked, .masked), .error(.denied),
                    .error(.denied),
                ]
            )
        }
    }

    @Test func tokenizeNeedsTheKindAndCallersNeedAnIdentity() async throws {
        try await withVault(Self.policy) { t in
            let before = try await t.stats()
            for uid in [UInt32(3002), 3003, 3006] {
                let caller = try t.caller(uid)
                let error = await vaultError {
                    _ = try await t.tokenize(.email, [Sample.of(.email).raw], subject: "cust-1", as: caller)
                }
                #expect(error?.code == .denied, "\(caller.identity.name)")
            }
            // The ingest role does not tokenize text.
            let text = await vaultError {
                _ = try await t.tokenize(.text, ["note"], subject: "cust-1", as: try t.caller(3001))
            }
            #expect(text?.code == .denied)
            #expect(try await t.stats() == before)
            // checkout's own kind works.
            _ = try await t.tokenize(.card, [Sample.of(.card).raw], subject: "cust-1", as: try t.caller(3002))

            for uid in [UInt32(0), 1000, 3007, 4_294_967_295] {
                let error = await vaultError { _ = try t.caller(uid) }
                #expect(error?.code == .unknownIdentity, "uid \(uid)")
            }
        }
    }

    @Test(arguments: ["", "kinds: {}\nidentities: []\nroles: {}\n"])
    func anEmptyPolicyDeniesEverything(emptyYAML: String) async throws {
        try await withVault(Self.policy) { t in
            let intake = try t.caller(3001)
            let lead = try t.caller(3005)
            let tokens = try await t.tokenize(.email, [Sample.of(.email).raw], subject: "cust-1", as: intake)
            let empty = t.vault(deciding: try Policy.parse(yaml: emptyYAML))
            for uid in Self.identities.values {
                let error = await vaultError { _ = try empty.caller(uid: uid) }
                #expect(error?.code == .unknownIdentity)
            }
            // Even an identity resolved under the old policy gets nothing from the empty one.
            let tokenize = await vaultError {
                _ = try await empty.tokenize(
                    TokenizeRequest(kind: .email, subject: "cust-1", values: [Sample.of(.email).raw]),
                    caller: intake
                )
            }
            #expect(tokenize?.code == .denied)
            for purpose in Self.purposes {
                expectItems(
                    try await empty.detokenize(tokens, purpose: purpose, caller: lead),
                    [.error(.denied)],
                    "\(purpose):"
                )
            }
            // helpdesk may erase under the real policy, not under the empty one.
            let erase = await vaultError { _ = try await empty.erase(subject: "cust-1", caller: try t.caller(3003)) }
            #expect(erase?.code == .denied)
            #expect(try await t.stats() == Counts(subjects: 1, tokens: 1))
        }
    }
}
