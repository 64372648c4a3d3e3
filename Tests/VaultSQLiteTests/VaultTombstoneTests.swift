import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore
@testable import VaultSQLite

/// A format-preserving token string is never issued again once its subject is erased: a system still holding
/// the old token must not reveal another customer with it.
@Suite struct VaultTombstoneTests {
    @Test func anErasedFormatPreservingLookupIsRefusedForANewRow() async throws {
        try await withStore { store, _ in
            let gone = try await addSubject(store, "cust-gone")
            let next = try await addSubject(store, "cust-next")
            let preserving = makeToken(subjectID: gone.id, kind: .card, mode: .formatPreserving)
            let deterministic = makeToken(subjectID: gone.id, kind: .email, mode: .deterministic)
            try await store.write { writer in
                try writer.insertToken(preserving)
                try writer.insertToken(deterministic)
            }
            #expect(try await store.write { try $0.eraseSubject(named: "cust-gone") } == 2)

            #expect(
                try await store.write { try $0.tokenExists(lookup: preserving.lookup) },
                "the erased token's lookup is still taken"
            )
            await #expect(throws: VaultError.self, "a new row under a tombstoned lookup is refused") {
                try await store.write {
                    try $0.insertToken(
                        makeToken(
                            subjectID: next.id,
                            lookup: preserving.lookup,
                            kind: .card,
                            mode: .formatPreserving
                        )
                    )
                }
            }
            // A deterministic token is a function of the value and is shared by design: the same value
            // tokenized again, by anyone, gets the same token.
            #expect(try await store.write { try $0.tokenExists(lookup: deterministic.lookup) } == false)
            try await store.write {
                try $0.insertToken(
                    makeToken(
                        subjectID: next.id,
                        lookup: deterministic.lookup,
                        kind: .email,
                        mode: .deterministic
                    )
                )
            }
        }
    }

    @Test func theCollisionCheckRedrawsATokenOfAnErasedSubject() async throws {
        try await withVault(serviceYAML(kinds: [.card: .formatPreserving]), on: .sqlite) { t in
            let svc = try t.caller(UID.service)
            let card = Sample.of(.card)
            let old = try await t.tokenize(.card, [card.raw], subject: "cust-gone", as: svc)[0]
            #expect(try await t.vault.erase(subject: "cust-gone", caller: svc).erased == 1)

            // The first draw is forced to the erased subject's token; the check must refuse it and draw again.
            let draws = DrawLog()
            var writer = TokenWriter(
                keyring: t.keyring,
                kind: .card,
                mode: .formatPreserving,
                subject: "cust-next",
                scope: "default",
                limits: .none,
                now: t.clock.now,
                keys: t.vault.keys
            )
            writer.draw = { kind, value in
                draws.count() == 0 ? old : TokenFormat.formatPreserving(kind: kind, normalized: value)
            }
            let forced = writer
            let made = try await t.store.write { try forced.store([card.normalized], in: $0).tokens }
            let reissued = made[0] == old
            #expect(!reissued, "the erased token string was issued again")
            #expect(draws.total == 2)
            expectItems(try await t.vault.detokenize([old], purpose: "view", caller: svc), [.error(.notFound)])
            expectItems(
                try await t.vault.detokenize(made, purpose: "view", caller: svc),
                [.value(card.normalized, .plain)]
            )
        }
    }
}

/// Counts calls from the store's writer thread.
final class DrawLog: @unchecked Sendable {
    // @unchecked: used by one write closure at a time, on the writer thread, then read after it returned.
    private(set) var total = 0
    /// The number of calls before this one.
    func count() -> Int {
        total += 1
        return total - 1
    }
}
