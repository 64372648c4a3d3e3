import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// What the vault writes to the audit log (VaultAuditFailureTests, in VaultSQLiteTests: nothing is revealed
/// without it).
@Suite struct VaultAuditTests {
    /// `body` without the parts that are random hex or a time, where a short mask (a year) could turn up
    /// by chance.
    static func withoutHex(_ body: String) -> String {
        body.replacing(/ref:[0-9a-f]+/, with: "ref:").replacing(/"at":"[^"]*"/, with: "")
    }

    @Test func detokenizeRecordsWhoWhyAndEachDecisionButNoValue() async throws {
        try await withVault(serviceYAML(kinds: [.card: .formatPreserving, .phone: .deterministic])) { t in
            let svc = try t.caller(UID.service)
            var tokens: [String] = []
            for sample in Sample.all {
                tokens += try await t.tokenize(sample.kind, [sample.raw], subject: "cust-7", as: svc)
            }
            let held = try await t.vault.tokenize(
                TokenizeRequest(
                    kind: .email,
                    subject: "cust-7",
                    values: [Sample.of(.email).raw],
                    limits: TokenLimits(purposes: ["refund"])
                ),
                caller: svc
            )[0]
            let unknown = "tok_" + String(repeating: "u", count: 22)
            let sentByMistake = Sample.of(.card).raw  // a raw value where a token belongs
            let batch = tokens + [held, unknown, sentByMistake]
            _ = try await t.vault.detokenize(batch, purpose: "view", caller: svc)
            _ = try await t.vault.detokenize(tokens, purpose: "glance", caller: svc)

            let rows = try await t.auditRows()
            let events = rows.compactMap { AuditEvent.decode($0.body) }
            #expect(events.count == rows.count, "every body decodes")
            let detokenizes = events.filter { $0.event == .detokenize }
            try #require(detokenizes.count == 2)
            let view = detokenizes[0]
            let glance = detokenizes[1]
            #expect(view.identity == "svc" && view.uid == UID.service && view.roles == ["service"])
            #expect(view.purpose == "view" && glance.purpose == "glance")
            #expect(view.outcome == .ok && view.count == batch.count)
            #expect(
                view.items?.map(\.decision) == Array(repeating: .plain, count: Sample.all.count) + [
                    .denied, .notFound, .notFound,
                ]
            )
            #expect(glance.items?.map(\.decision) == Array(repeating: .masked, count: Sample.all.count))
            #expect(view.items?.map(\.kind) == Sample.all.map(\.kind.rawValue) + ["email", nil, nil])
            // Every token is recorded only as its keyed audit reference (opaque ones too), never as the look-up hash.
            let keyring = t.vault.keyring
            let expectedReferences = batch.map { keyring.auditReference(of: $0) }
            expectSame(view.items?.map(\.token), expectedReferences, "tokens recorded as references")
            #expect(expectedReferences.allSatisfy { $0.hasPrefix("ref:") })
            #expect(!batch.contains { expectedReferences.contains("ref:" + Hex.encode(t.lookup($0))) })

            // No body holds a value (as sent or normalized), a mask, or a format-preserving token.
            let cardToken = tokens[Sample.all.firstIndex { $0.kind == .card }!]
            for row in rows {
                let body = Self.withoutHex(row.body)
                for sample in Sample.all {
                    expectNoLeak(
                        row.body,
                        sample.raw.trimmingCharacters(in: .whitespaces),
                        "\(sample) in audit record \(row.seq)"
                    )
                    expectNoLeak(row.body, sample.normalized, "\(sample) in audit record \(row.seq)")
                    let masked = body.contains(sample.masked)
                    #expect(!masked, "\(sample) mask in audit record \(row.seq)")
                }
                let token = row.body.contains(cardToken)
                #expect(!token, "format-preserving card token in audit record \(row.seq)")
            }
            // The chain links every record to the one before.
            for (previous, row) in zip(rows, rows.dropFirst()) {
                #expect(row.prev == previous.hash && row.seq == previous.seq + 1)
                #expect(row.hash == AuditChain.hash(prev: row.prev, body: row.body))
            }
        }
    }
}
