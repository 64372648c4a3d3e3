import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// Bad input is refused whole, names what is wrong without quoting any value, and stores nothing.
@Suite struct VaultBadInputTests {
    /// One value per kind that its rules reject, with the rule's words expected in the message.
    static let invalid: [(kind: Kind, value: String, reason: String)] = [
        (.email, "zephyrine.no-at-sign.example.com", "has no '@'"),
        (.phone, "+44 20 CALL-NOW-PLEASE", "has a character other than"),
        (.card, "4242 4242 4242 4241", "fails the Luhn check"),
        (.ssn, "666-12-3456", "area number"),
        (.name, "31337 424242 99", "has no letter"),
        (.address, "42 Wallaby Way\u{0007}Sydney NSW", "control character"),
        (.date, "1987-02-30", "has a day that its month does not have"),
        (.text, String(repeating: "secret-note ", count: 6_000), "bytes; values are limited to"),
    ]

    @Test(arguments: [0, 2, 4])
    func oneInvalidValueFailsTheBatchAndStoresNothing(position: Int) async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            // Something stored first, so "unchanged" is not just "empty".
            _ = try await t.tokenize(.email, [Sample.of(.email).raw], subject: "cust-0", as: svc)
            let before = try await t.stats()
            let auditBefore = try await t.auditRows().count

            for bad in Self.invalid {
                let good = Sample.of(bad.kind)
                var values = Array(repeating: good.raw, count: 5)
                values[position] = bad.value
                let error = await vaultError {
                    _ = try await t.tokenize(bad.kind, values, subject: "cust-new", as: svc)
                }
                #expect(error?.code == .invalidValue, "\(bad.kind)")
                #expect(error?.index == position, "\(bad.kind)")
                #expect(error?.kind == bad.kind, "\(bad.kind)")
                let description = error?.description ?? ""
                let namesPlace = description.contains("\(bad.kind.rawValue) value at index \(position)")
                let namesRule = description.contains(bad.reason)
                #expect(namesPlace && namesRule, "\(bad.kind): the error names the kind, index and rule")
                expectNoLeak(description, bad.value, "\(bad.kind): the error quotes the invalid value")
                expectNoLeak(description, good.raw, "\(bad.kind): the error quotes a valid value")
                expectNoLeak(description, good.normalized, "\(bad.kind): the error quotes a valid value")
            }
            #expect(try await t.stats() == before, "a failed batch left rows behind")
            // Not even a subject for cust-new, and no audit record claims a tokenize happened.
            #expect(try await t.store.read { try $0.subject(named: "cust-new") } == nil)
            let newAudit = try await t.auditRows().dropFirst(auditBefore)
            #expect(
                !newAudit.contains {
                    $0.body.contains("\"event\":\"tokenize\"") && $0.body.contains("\"outcome\":\"ok\"")
                }
            )
        }
    }

    /// What the vault itself refuses: an empty batch, and limits that break a bound. (Subjects, purposes,
    /// scopes and idempotency keys that break their rules cannot be built: `ValueRulesTests`.) Each limit
    /// refusal names its field, which the server answers as `data.field`.
    @Test func malformedRequestsAreRefused() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            let email = Sample.of(.email).raw
            let now = t.clock.now
            func tokenize(_ request: TokenizeRequest) async -> VaultError? {
                await vaultError { _ = try await t.vault.tokenize(request, caller: svc) }
            }
            let empty = await tokenize(TokenizeRequest(kind: .email, subject: "cust-1", values: []))
            #expect(empty?.code == .invalidRequest)

            let tooMany = try (0...TokenLimits.maxPurposes).map { try Purpose("p-\($0)") }
            let badLimits: [(String, TokenLimits, VaultError.Field)] = [
                ("expiry now", TokenLimits(expiresAt: now), .limitsExpiresAt),
                ("expiry in the past", TokenLimits(expiresAt: now - 3600), .limitsExpiresAt),
                ("no purposes", TokenLimits(purposes: []), .limitsPurposes),
                ("too many purposes", TokenLimits(purposes: tooMany), .limitsPurposes),
                ("zero reveals", TokenLimits(maxReveals: 0), .limitsMaxReveals),
                ("negative reveals", TokenLimits(maxReveals: -1), .limitsMaxReveals),
                ("reveals past 2^31 - 1", TokenLimits(maxReveals: Int(Int32.max) + 1), .limitsMaxReveals),
            ]
            for (name, limits, field) in badLimits {
                let error = await tokenize(
                    TokenizeRequest(kind: .email, subject: "cust-1", values: [email], limits: limits)
                )
                #expect(error?.code == .invalidRequest, "\(name)")
                #expect(error?.field == field, "\(name)")
            }
            #expect(try await t.stats() == Counts(subjects: 0, tokens: 0))

            let none = await vaultError { _ = try await t.vault.detokenize([], purpose: "view", caller: svc) }
            #expect(none?.code == .invalidRequest)
        }
    }

    /// The expiry is judged by the vault's clock, not the host's: a time already past on the host is still in
    /// the future for a vault whose clock is behind, and the reverse. (The socket leaves this check to the
    /// vault, so it answers by the same clock.)
    @Test func expiryIsJudgedByTheVaultsClock() async throws {
        let host = Int64(Date().timeIntervalSince1970)
        try await withVault(serviceYAML(), clock: TestClock(host - 86_400)) { t in
            let svc = try t.caller(UID.service)
            let request = TokenizeRequest(
                kind: .email,
                subject: "cust-1",
                values: [Sample.of(.email).raw],
                limits: TokenLimits(expiresAt: host - 3600)
            )
            // An hour ago for the host, a day minus an hour ahead for the vault: accepted.
            #expect(try await t.vault.tokenize(request, caller: svc).count == 1)
            // Once the vault's clock passes it, the same instant is refused.
            t.clock.advance(by: 86_400)
            let late = await vaultError { _ = try await t.vault.tokenize(request, caller: svc) }
            #expect(late?.field == .limitsExpiresAt)
        }
    }

    @Test func oversizedOrForeignTokensAreSimplyNotFound() async throws {
        try await withVault(serviceYAML()) { t in
            let svc = try t.caller(UID.service)
            let sample = Sample.of(.card)
            let probes = [
                String(repeating: "t", count: 513), "", "tok_", sample.raw, sample.normalized,
                "tok_" + String(repeating: "0", count: 22),
            ]
            _ = try await t.tokenize(.card, [sample.raw], subject: "cust-1", as: svc)
            expectItems(
                try await t.vault.detokenize(probes, purpose: "view", caller: svc),
                probes.map { _ in .error(.notFound) }
            )
        }
    }
}
