import Foundation
import Testing

@testable import VaultCore

/// Tokens never appear in the audit log as themselves (an opaque token is a bearer capability, deterministic
/// tokens link equal values); `cvault audit export --token T`, with the keyring, finds a token's records by
/// its keyed reference, and also the records written before that rule, which hold the token itself.
@Suite struct AuditTokenReferenceTests {
    @Test func exportByTokenFindsItsRecordsAndNoRecordHoldsAToken() async throws {
        try await VaultFixture.with { vault in
            let opaque = try await vault.tokenize("text", subject: "cust-1", ["a note"])[0]
            let deterministic = try await vault.tokenize("email", subject: "cust-1", ["ada@example.com"])[0]
            let twin = try await vault.tokenize("email", subject: "cust-2", ["ada@example.com"])[0]
            #expect(
                twin == deterministic,
                "equal values, equal deterministic tokens (the linkage the log must not show)"
            )
            for tokens in [[opaque], [opaque, deterministic], [deterministic]] {
                #expect(try await vault.cvault(["detokenize", "--purpose", "demo"] + tokens).status == 0)
            }

            // No exported record holds either token.
            let all = try await vault.cvault(["audit", "export"], environment: ["CVAULT_PASSPHRASE": nil])
            #expect(all.status == 0)
            expectNoLeak(all, of: [opaque, deterministic], "audit export")

            // By token: the records that name it, and only those.
            let found = try jsonObjects(try await vault.cvault(["audit", "export", "--token", opaque]))
            #expect(found.count == 2)
            #expect(found.allSatisfy { $0["event"] as? String == "detokenize" })
            let byEmail = try jsonObjects(try await vault.cvault(["audit", "export", "--token", deterministic]))
            #expect(byEmail.count == 2)
            #expect(
                try jsonObjects(
                    try await vault.cvault(["audit", "export", "--token", "tok_" + String(repeating: "A", count: 22)])
                ).isEmpty
            )

            // It needs the keyring: the reference is keyed.
            let locked = try await vault.cvault(
                ["audit", "export", "--token", opaque],
                stdin: "",
                environment: ["CVAULT_PASSPHRASE": nil]
            )
            #expect(locked.status != 0)
            #expect(locked.stdout.isEmpty)

            // A record written before tokens were recorded by reference holds the token itself; it is found too.
            let rows = try sqlite3(
                vault.database,
                "SELECT seq || ' ' || hex(hash) FROM audit ORDER BY seq DESC LIMIT 1;"
            )
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
            let seq = try #require(Int64(String(rows[0]))) + 1
            let prev = try #require(Hex.decode(String(rows[1])))
            var legacy = AuditEvent(
                at: "2026-01-01T00:00:00Z",
                event: .detokenize,
                identity: "operator",
                uid: 0,
                count: 1,
                purpose: "demo",
                items: [AuditItem(token: opaque, kind: "text", decision: .plain)],
                outcome: .ok
            )
            legacy.seq = seq
            let body = legacy.canonicalJSON()
            _ = try sqlite3(
                vault.database,
                "INSERT INTO audit(seq, prev, hash, body) VALUES (\(seq), X'\(Hex.encode(prev))', "
                    + "X'\(Hex.encode(AuditChain.hash(prev: prev, body: body)))', '\(body)');"
            )
            let withLegacy = try jsonObjects(try await vault.cvault(["audit", "export", "--token", opaque]))
            #expect(withLegacy.count == 3)
            #expect(withLegacy.last?["seq"] as? Int == Int(seq))
        }
    }
}
