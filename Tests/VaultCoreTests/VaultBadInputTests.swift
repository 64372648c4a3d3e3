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

            for subject in [
                "", "cust 42", "cust/42", "zephyrine@example.com", String(repeating: "c", count: 129), "cüst-42",
            ] {
                let error = await tokenize(TokenizeRequest(kind: .email, subject: subject, values: [email]))
                #expect(error?.code == .invalidRequest, "subject of \(subject.utf8.count) bytes")
                #expect(error?.field == "subject")
            }
            let noScope = await tokenize(TokenizeRequest(kind: .email, subject: "cust-1", values: [email], scope: ""))
            #expect(noScope?.code == .invalidRequest)

            let badLimits: [(String, TokenLimits)] = [
                ("expiry now", TokenLimits(expiresAt: now)),
                ("expiry in the past", TokenLimits(expiresAt: now - 3600)),
                ("no purposes", TokenLimits(purposes: [])),
                ("bad purpose", TokenLimits(purposes: ["Charge"])),
                ("purpose with a comma", TokenLimits(purposes: ["charge,refund"])),
                ("zero reveals", TokenLimits(maxReveals: 0)),
                ("negative reveals", TokenLimits(maxReveals: -1)),
            ]
            for (name, limits) in badLimits {
                let error = await tokenize(
                    TokenizeRequest(kind: .email, subject: "cust-1", values: [email], limits: limits)
                )
                #expect(error?.code == .invalidRequest, "\(name)")
            }
            #expect(try await t.stats() == Counts(subjects: 0, tokens: 0))

            // Detokenize: bad purposes and an empty batch.
            let token = try await t.tokenize(.email, [email], subject: "cust-1", as: svc)
            for purpose in ["", "View", "view it", "view\u{0}", String(repeating: "v", count: 65), "vïew"] {
                let error = await vaultError { _ = try await t.vault.detokenize(token, purpose: purpose, caller: svc) }
                #expect(error?.code == .invalidRequest, "purpose of \(purpose.utf8.count) bytes")
            }
            let none = await vaultError { _ = try await t.vault.detokenize([], purpose: "view", caller: svc) }
            #expect(none?.code == .invalidRequest)
            // Erase: a bad subject id.
            let erase = await vaultError { _ = try await t.vault.erase(subject: "cust 1", caller: svc) }
            #expect(erase?.code == .invalidRequest)
            #expect(try await t.stats() == Counts(subjects: 1, tokens: 1))
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
