import Testing
import VaultTestSupport

@testable import VaultCore

/// Retention through the vault: a token past its kind's retention is `not_found` from that second on, and the
/// purge removes exactly those rows, a batch per audit record, a subject left with none losing its data key.
@Suite struct VaultRetentionTests {
    static let day: Int64 = 86_400
    /// Email kept 10 days, cards one hour, phones 10 days; every other kind until erased.
    static let policy =
        serviceYAML(kinds: [.email: .deterministic]) + "\nretention: {email: 10d, card: 1h, phone: 240h}\n"

    @Test func aTokenPastItsRetentionIsNotFoundAtOnceByKind() async throws {
        let clock = TestClock()
        try await withVault(Self.policy, clock: clock) { t in
            let svc = try t.caller(UID.service)
            let kinds: [Kind] = [.email, .card, .phone, .text]
            var tokens: [String] = []
            for kind in kinds {
                tokens += try await t.tokenize(kind, [Sample.of(kind).raw], subject: "cust-1", as: svc)
            }
            let values = kinds.map { RevealItem.value(Sample.of($0).normalized, .plain) }
            func reveal() async throws -> [RevealItem] {
                try await t.vault.detokenize(tokens, purpose: "view", caller: svc)
            }
            // One second before the card's hour: everything reveals.
            clock.advance(by: 3_600 - 1)
            expectItems(try await reveal(), values, "before the card's retention:")
            // At `createdAt + retention`: the card is gone, before any purge; the other kinds are not.
            clock.advance(by: 1)
            expectItems(try await reveal(), [values[0], .error(.notFound), values[2], values[3]], "at the card's:")
            clock.advance(by: 10 * Self.day - 3_600 - 1)
            expectItems(try await reveal(), [values[0], .error(.notFound), values[2], values[3]], "before email's:")
            clock.advance(by: 1)
            expectItems(
                try await reveal(),
                [.error(.notFound), .error(.notFound), .error(.notFound), values[3]],
                "at email's and phone's (240h = 10d):"
            )
            // Nothing was purged: the rows are all there, hidden by the gate alone.
            #expect(try await t.stats().tokens == kinds.count)
            let last = try await t.auditRows().compactMap { AuditEvent.decode($0.body) }.last
            #expect(last?.items?.map(\.decision) == [.notFound, .notFound, .notFound, .plain])
        }
    }

    /// A deterministic token shared by two subjects resolves through the first live row: once the older
    /// subject's row is past its retention, the younger subject's row answers (it is not hidden with it).
    @Test func aSharedDeterministicTokenResolvesThroughTheRowStillInsideItsRetention() async throws {
        let clock = TestClock()
        try await withVault(Self.policy, clock: clock) { t in
            let svc = try t.caller(UID.service)
            let value = Sample.of(.email).raw
            let older = try await t.tokenize(.email, [value], subject: "cust-older", as: svc)[0]
            clock.advance(by: 5 * Self.day)
            let younger = try await t.tokenize(.email, [value], subject: "cust-younger", as: svc)[0]
            #expect(older == younger, "equal values share one deterministic token")
            clock.advance(by: 5 * Self.day)
            let items = try await t.vault.detokenize([older], purpose: "view", caller: svc)
            expectItems(items, [.value(Sample.of(.email).normalized, .plain)], "the younger row answers:")
            clock.advance(by: 5 * Self.day)
            let gone = try await t.vault.detokenize([older], purpose: "view", caller: svc)
            expectItems(gone, [.error(.notFound)], "both rows past their retention:")
        }
    }

    @Test func thePurgeRemovesExactlyTheExpiredRowsInAuditedBatches() async throws {
        let clock = TestClock()
        try await withVault(Self.policy, clock: clock) { t in
            let svc = try t.caller(UID.service)
            // Old rows: 3 emails and 2 cards of cust-old (all it has), 2 cards of cust-mixed.
            let oldEmails = try await t.tokenize(
                .email,
                ["a@x.org", "b@x.org", "c@x.org"],
                subject: "cust-old",
                as: svc
            )
            let oldCards = try await t.tokenize(.card, [card(1), card(2)], subject: "cust-old", as: svc)
            let mixedCards = try await t.tokenize(.card, [card(3), card(4)], subject: "cust-mixed", as: svc)
            let subjectOld = try #require(try await t.store.read { try $0.subject(named: "cust-old") })
            try await t.store.write {
                try $0.recordConsent(
                    ConsentRecord(
                        subjectID: subjectOld.id,
                        purpose: "marketing",
                        state: .granted,
                        at: clock.now,
                        source: "form"
                    )
                )
            }
            clock.advance(by: 11 * Self.day)
            // Young rows: cust-mixed's email and text, cust-young's card; texts are kept until erased.
            let young =
                try await t.tokenize(.email, ["m@x.org"], subject: "cust-mixed", as: svc)
                + t.tokenize(.text, ["kept"], subject: "cust-mixed", as: svc)
                + t.tokenize(.card, [card(5)], subject: "cust-young", as: svc)
            let pass = t.vault.retentionPass()
            let due = try await t.store.read { try pass.due(in: $0) }
            #expect(due == [.email: 3, .card: 4, .phone: 0])
            let recordsBefore = try await t.auditRows().count

            let tally = try await t.vault.purgeExpired(batch: 2)
            #expect(tally.tokens == [.email: 3, .card: 4])
            #expect(tally.totalDataKeys == 1 && tally.dataKeys[.card] == 1, "cust-old's key goes with its last card")
            #expect(tally.records == 4, "7 tokens in batches of 2")
            #expect(try await t.stats() == Counts(subjects: 3, tokens: 3))

            // One record per batch, in the pass's kind order, with counts and cutoffs that add up.
            let purges = try await t.auditRows().dropFirst(recordsBefore).compactMap { AuditEvent.decode($0.body) }
            #expect(purges.allSatisfy { $0.event == .purge && $0.outcome == .ok && $0.identity == nil })
            #expect(purges.map(\.count) == [2, 2, 2, 1])
            #expect(purges.map { $0.perKind?["email"]?.tokens ?? 0 } == [2, 1, 0, 0])
            #expect(purges.map { $0.perKind?["card"]?.tokens ?? 0 } == [0, 1, 2, 1])
            #expect(purges.compactMap { $0.perKind?["card"]?.dataKeys }.reduce(0, +) == 1)
            let cardCutoff = VaultClock.iso8601(clock.now - 3_600 + 1)
            #expect(purges.compactMap { $0.perKind?["card"]?.cutoff }.allSatisfy { $0 == cardCutoff })
            // Each record names the subjects it took tokens of, by reference, so their reports find it.
            let oldRef = t.keyring.subjectReference("cust-old")
            let mixedRef = t.keyring.subjectReference("cust-mixed")
            #expect(purges.map { Set($0.subjectRefs ?? []) }.reduce(Set()) { $0.union($1) } == [oldRef, mixedRef])
            #expect(purges.allSatisfy { $0.subjects == nil }, "subject ids are not named in clear")

            // Exactly the expired rows went: the young ones still reveal.
            let reveal = try await t.vault.detokenize(
                oldEmails + oldCards + mixedCards + young,
                purpose: "view",
                caller: svc
            )
            expectItems(
                reveal,
                Array(repeating: .error(.notFound), count: 7)
                    + [.value("m@x.org", .plain), .value("kept", .plain), .value(card(5), .plain)]
            )
            // cust-old keeps its consent but no data key; tokenizing for it again gives it a new one.
            let emptied = try #require(try await t.store.read { try $0.subject(named: "cust-old") })
            #expect(!emptied.hasDataKey && emptied.id == subjectOld.id)
            #expect(
                try await t.store.read { try $0.consent(subjectID: emptied.id, purpose: "marketing") }?.state
                    == .granted
            )
            let again = try await t.tokenize(.email, ["a@x.org"], subject: "cust-old", as: svc)
            expectItems(try await t.vault.detokenize(again, purpose: "view", caller: svc), [.value("a@x.org", .plain)])
            let renewed = try #require(try await t.store.read { try $0.subject(named: "cust-old") })
            #expect(renewed.hasDataKey && renewed.dekVersion == subjectOld.dekVersion + 1)

            // A second pass finds nothing and writes nothing.
            let recordsAfter = try await t.auditRows().count
            #expect(try await t.vault.purgeExpired(batch: 2) == PurgeTally.withCutoffs(t.vault.retentionPass()))
            #expect(try await t.auditRows().count == recordsAfter)
        }
    }

    @Test func aDeterministicValueGivenAgainAfterItsRetentionRevealsAgain() async throws {
        let clock = TestClock()
        try await withVault(Self.policy, clock: clock) { t in
            let svc = try t.caller(UID.service)
            let first = try await t.tokenize(.email, ["a@x.org"], subject: "cust-1", as: svc)
            let createdAt = try #require(try await t.rows(first[0]).first?.token.createdAt)
            // Within its retention, the same value again changes nothing.
            clock.advance(by: 5 * Self.day)
            #expect(try await t.tokenize(.email, ["a@x.org"], subject: "cust-1", as: svc) == first)
            #expect(try await t.rows(first[0]).first?.token.createdAt == createdAt)
            // Past it, not yet purged: the token is not_found, and giving the value again starts its retention
            // again, so the token the tokenize answers reveals.
            clock.advance(by: 5 * Self.day)
            expectItems(try await t.vault.detokenize(first, purpose: "view", caller: svc), [.error(.notFound)])
            #expect(try await t.tokenize(.email, ["a@x.org"], subject: "cust-1", as: svc) == first)
            expectItems(try await t.vault.detokenize(first, purpose: "view", caller: svc), [.value("a@x.org", .plain)])
            #expect(try await t.rows(first[0]).map(\.token.createdAt) == [clock.now])
            #expect(try await t.vault.purgeExpired().totalTokens == 0, "the renewed row is not due")
        }
    }

    @Test func aPolicyWithoutRetentionPurgesNothing() async throws {
        let clock = TestClock()
        try await withVault(serviceYAML(), clock: clock) { t in
            let svc = try t.caller(UID.service)
            _ = try await t.tokenize(.email, ["a@x.org"], subject: "cust-1", as: svc)
            clock.advance(by: 100_000 * Self.day)
            let before = try await t.auditRows().count
            #expect(try await t.vault.purgeExpired().totalTokens == 0)
            #expect(try await t.stats().tokens == 1)
            #expect(try await t.auditRows().count == before)
        }
    }

    @Test(arguments: [0, Vault.purgeBatches.upperBound + 1])
    func aBatchOutOfRangeIsRefused(_ batch: Int) async throws {
        try await withVault(Self.policy) { t in
            let error = await vaultError { _ = try await t.vault.purgeExpired(batch: batch) }
            #expect(error?.code == .invalidRequest)
        }
    }

    @Test func theCutoffIsTheRetentionBoundaryAndSaturates() {
        #expect(Retention.isPast(createdAt: 100, retention: 10, now: 110))
        #expect(!Retention.isPast(createdAt: 100, retention: 10, now: 109))
        #expect(Retention.cutoff(retention: 10, now: 110) == 101)
        #expect(Retention.cutoff(retention: .max, now: .min) == .min)
        #expect(Retention.cutoff(retention: 1, now: .max) == .max)
        #expect(!Retention.isPast(createdAt: .max, retention: 1, now: .max))
    }
}

/// A distinct, Luhn-valid card number per `n`.
private func card(_ n: Int) -> String { luhnCard(prefix: "41110\(n)") }

extension PurgeTally {
    /// What a pass that found nothing answers.
    static func withCutoffs(_ pass: RetentionPass) -> PurgeTally {
        var tally = PurgeTally()
        tally.cutoffs = pass.cutoffs
        return tally
    }
}
