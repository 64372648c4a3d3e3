import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// An attacker with write access to the database file moves ciphertexts and wrapped keys between rows. Every
/// moved blob must fail authentication (`integrity`) and never open as another row's value, while rows
/// nobody touched still reveal.
@Suite struct VaultRowSwapTests {
    static func hex(_ bytes: [UInt8]) -> String { "X'" + Hex.encode(bytes) + "'" }

    /// `UPDATE` that copies column `column` of the row `from` onto the row `to` (rows by lookup and subject).
    static func copyToken(
        _ column: String,
        from: [UInt8],
        _ fromSubject: String,
        to: [UInt8],
        _ toSubject: String
    ) -> String {
        """
        UPDATE tokens SET \(column) = (SELECT \(column) FROM tokens WHERE lookup = \(hex(from))
                                       AND subject_id = (SELECT id FROM subjects WHERE name = '\(fromSubject)'))
        WHERE lookup = \(hex(to)) AND subject_id = (SELECT id FROM subjects WHERE name = '\(toSubject)');
        SELECT changes();
        """
    }

    @Test(arguments: [TokenMode.opaque, .formatPreserving])
    func movedCiphertextsAndKeysFailIntegrity(mode: TokenMode) async throws {
        try await withVault(serviceYAML(kinds: [.card: mode]), on: .sqlite) { t in
            let svc = try t.caller(UID.service)
            let cards = (0..<7).map { luhnCard(prefix: "4\($0)7", length: 16) }
            func tokenize(_ subject: Subject, _ values: ArraySlice<String>) async throws -> [String] {
                try await t.tokenize(.card, Array(values), subject: subject, as: svc)
            }
            let a = try await tokenize("cust-a", cards[0..<3])  // a0 a1 a2
            let b = try await tokenize("cust-b", cards[3..<5])  // b0 b1
            let c = try await tokenize("cust-c", cards[5..<7])  // c0 c1
            let all = a + b + c
            expectItems(
                try await t.vault.detokenize(all, purpose: "view", caller: svc),
                cards.map { .value($0, .plain) },
                "before:"
            )

            var changed: [String] = []
            try await t.reopen {
                // Same subject: a1's ciphertext onto a0.
                changed.append(
                    try t.sqlite(Self.copyToken("sealed", from: t.lookup(a[1]), "cust-a", to: t.lookup(a[0]), "cust-a"))
                )
                // Across subjects: a2's ciphertext onto b0.
                changed.append(
                    try t.sqlite(Self.copyToken("sealed", from: t.lookup(a[2]), "cust-a", to: t.lookup(b[0]), "cust-b"))
                )
                // A subject's wrapped key onto another: b's key onto c, so c's own ciphertexts meet b's key.
                changed.append(
                    try t.sqlite(
                        """
                        UPDATE subjects SET wrapped_key = (SELECT wrapped_key FROM subjects WHERE name = 'cust-b')
                        WHERE name = 'cust-c';
                        SELECT changes();
                        """
                    )
                )
            }
            #expect(changed.allSatisfy { $0 == "1" } && !changed.isEmpty, "each statement changed one row: \(changed)")
            let after = try await t.vault.detokenize(all, purpose: "view", caller: svc)
            expectItems(
                after,
                [
                    // a0 moved onto; a1, a2 untouched
                    .error(.integrity), .value(cards[1], .plain), .value(cards[2], .plain),
                    .error(.integrity), .value(cards[4], .plain),  // b0 moved onto; b1 untouched
                    .error(.integrity), .error(.integrity),  // c under b's key
                ],
                "after the swaps:"
            )
            // Never another row's value, masked either.
            let masked = try await t.vault.detokenize([all[0], all[3], all[5]], purpose: "glance", caller: svc)
            expectItems(masked, [.error(.integrity), .error(.integrity), .error(.integrity)], "masked:")
            // The integrity failures are audited as such.
            let last = try #require(try await t.auditRows().last.flatMap { AuditEvent.decode($0.body) })
            #expect(last.items?.map(\.decision) == [.integrity, .integrity, .integrity])
        }
    }

    @Test func movedRowsAndRelabelledColumnsFailIntegrity() async throws {
        try await withVault(serviceYAML(kinds: [.email: .deterministic]), on: .sqlite) { t in
            let svc = try t.caller(UID.service)
            let emails = ["ana.one@example.org", "bo.two@example.org", "cy.three@example.org"]
            let a = try await t.tokenize(.email, emails, subject: "cust-a", as: svc)
            let shared = try await t.vault.tokenize(
                TokenizeRequest(kind: .email, subject: "cust-b", values: [emails[2]]),
                caller: svc
            )
            #expect(shared == [a[2]], "a deterministic token both subjects share")
            let name = try await t.tokenize(.name, ["Ana One"], subject: "cust-a", as: svc)

            var changed: [String] = []
            try await t.reopen {
                // a0's row handed to subject b (its ciphertext stays, its subject changes).
                changed.append(
                    try t.sqlite(
                        """
                        UPDATE tokens SET subject_id = (SELECT id FROM subjects WHERE name = 'cust-b')
                        WHERE lookup = \(Self.hex(t.lookup(a[0])));
                        SELECT changes();
                        """
                    )
                )
                // a1 relabelled as another kind the caller may also see.
                changed.append(
                    try t.sqlite(
                        "UPDATE tokens SET kind = 'text' WHERE lookup = \(Self.hex(t.lookup(a[1]))); SELECT changes();"
                    )
                )
                // The shared token: b's ciphertext onto a's row (a's row is the one detokenize reads).
                changed.append(
                    try t.sqlite(Self.copyToken("sealed", from: t.lookup(a[2]), "cust-b", to: t.lookup(a[2]), "cust-a"))
                )
                // The name's data-key version bumped: the key and AD no longer agree.
                changed.append(
                    try t.sqlite("UPDATE subjects SET dek_version = 2 WHERE name = 'cust-a'; SELECT changes();")
                )
            }
            #expect(changed.allSatisfy { $0 == "1" } && !changed.isEmpty, "each statement changed one row: \(changed)")
            let after = try await t.vault.detokenize(a + name, purpose: "view", caller: svc)
            expectItems(after, [.error(.integrity), .error(.integrity), .error(.integrity), .error(.integrity)])
        }
    }

    @Test func controlTheUntamperedReopenStillReveals() async throws {
        // The same steps as above without the UPDATEs: reopening alone must not break anything, so the
        // integrity failures above come from the moves.
        try await withVault(serviceYAML(), on: .sqlite) { t in
            let svc = try t.caller(UID.service)
            let sample = Sample.of(.ssn)
            let token = try await t.tokenize(.ssn, [sample.raw], subject: "cust-a", as: svc)
            try await t.reopen { _ = try t.sqlite("SELECT count(*) FROM tokens;") }
            expectItems(
                try await t.vault.detokenize(token, purpose: "view", caller: svc),
                [.value(sample.normalized, .plain)]
            )
        }
    }
}

extension VaultRowSwapTests {
    /// A token's birth limits (`purposes`, `expires_at`, `max_reveals`) are bound into its ciphertext's
    /// associated data, so lifting them in the database makes the row fail authentication instead of opening
    /// for a purpose it was never allowed. (The running `reveals` count is not bound: docs/DESIGN.md.)
    @Test func editedTokenLimitsFailAuthentication() async throws {
        try await withVault(serviceYAML(), on: .sqlite) { t in
            let svc = try t.caller(UID.service)
            let sample = Sample.of(.card)
            let token = try await t.vault.tokenize(
                TokenizeRequest(
                    kind: .card,
                    subject: "cust-a",
                    values: [sample.raw],
                    limits: TokenLimits(purposes: ["refund"], maxReveals: 1)
                ),
                caller: svc
            )
            expectItems(
                try await t.vault.detokenize(token, purpose: "view", caller: svc),
                [.error(.denied)],
                "before the edit:"
            )
            var changed = ""
            try await t.reopen {
                changed = try t.sqlite("UPDATE tokens SET purposes = NULL, max_reveals = NULL; SELECT changes();")
            }
            #expect(changed == "1")
            let after = try await t.vault.detokenize(token + token, purpose: "view", caller: svc)
            #expect(after.allSatisfy { $0 == .error(.integrity) }, "after the edit: \(redacted(after))")
        }
    }
}

extension VaultRowSwapTests {
    /// An opaque token carries its row's id, masked. Any string of the right shape decodes to some id, so a row
    /// is the token's only if its look-up key matches: an altered token, or a row moved to another id, finds
    /// nothing, and never another row's value.
    @Test func anOpaqueTokenFindsOnlyItsOwnRow() async throws {
        // 183 forged tokens, every one a miss on purpose: a miss budget above that (the default is 60).
        try await withVault(serviceYAML(limits: "    limits: { misses_per_minute: 1000 }"), on: .sqlite) { t in
            let svc = try t.caller(UID.service)
            let values = ["first note", "second note", "third note"]
            let tokens = try await t.tokenize(.text, values, subject: "cust-a", as: svc)
            expectItems(
                try await t.vault.detokenize(tokens, purpose: "view", caller: svc),
                values.map { .value($0, .plain) }
            )

            // Every other last character: the same random part with another masked id, or another random
            // part with the same masked bits (both land on some id, usually an existing one in a small vault).
            let altered = tokens.flatMap { token in
                Base62.alphabet.map { String(decoding: [$0], as: UTF8.self) }.filter { !token.hasSuffix($0) }
                    .map { String(token.dropLast()) + $0 }
            }
            let forged = try await t.vault.detokenize(altered, purpose: "view", caller: svc)
            #expect(forged.allSatisfy { $0 == .error(.notFound) }, "\(redacted(forged))")

            // The rows of tokens 0 and 1 trade ids: each token now names the other's row, whose look-up key is
            // not its own.
            var changed = ""
            try await t.reopen {
                let a = Self.hex(t.lookup(tokens[0]))
                let b = Self.hex(t.lookup(tokens[1]))
                changed = try t.sqlite(
                    """
                    CREATE TEMP TABLE was AS SELECT lookup, id FROM tokens WHERE lookup IN (\(a), \(b));
                    UPDATE tokens SET id = -id WHERE lookup IN (\(a), \(b));
                    UPDATE tokens SET id = (SELECT id FROM was WHERE lookup = \(b)) WHERE lookup = \(a);
                    UPDATE tokens SET id = (SELECT id FROM was WHERE lookup = \(a)) WHERE lookup = \(b);
                    SELECT count(*) FROM tokens t JOIN was w ON w.lookup = t.lookup WHERE w.id <> t.id;
                    """
                )
            }
            #expect(changed == "2")
            let after = try await t.vault.detokenize(tokens, purpose: "view", caller: svc)
            expectItems(after, [.error(.notFound), .error(.notFound), .value(values[2], .plain)])
        }
    }
}
