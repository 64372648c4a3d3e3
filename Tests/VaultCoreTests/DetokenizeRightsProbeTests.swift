import Synchronization
import Testing
import VaultTestSupport

@testable import VaultCore

/// What honouring consent and restriction costs a reveal's look-ups: nothing for a purpose that needs no
/// consent (the restriction comes with the joined subject row), and one consent probe per distinct subject for
/// one that does.
@Suite struct DetokenizeRightsProbeTests {
    /// A reader that counts the consent probes and subject re-reads it forwards.
    final class CountingReader: StoreReader {
        let base: any StoreReader
        var consentProbes = 0
        var subjectReads = 0

        init(_ base: any StoreReader) { self.base = base }

        func token(id: Int64) throws -> StoredToken? { try base.token(id: id) }
        func tokens(lookup: [UInt8]) throws -> [StoredToken] { try base.tokens(lookup: lookup) }
        func subject(named name: String) throws -> SubjectRecord? { try base.subject(named: name) }
        func stats() throws -> StoreStats { try base.stats() }
        func auditRows(from: Int64, limit: Int) throws -> [AuditRow] { try base.auditRows(from: from, limit: limit) }
        func auditSeals() throws -> [AuditSeal] { try base.auditSeals() }
        func subjects(notWrappedBy version: Int, after id: Int64, limit: Int) throws -> [SubjectRecord] {
            try base.subjects(notWrappedBy: version, after: id, limit: limit)
        }
        func allTokens(after cursor: TokenCursor?, limit: Int) throws -> (tokens: [StoredToken], next: TokenCursor?) {
            try base.allTokens(after: cursor, limit: limit)
        }
        func idempotency(keyHash: [UInt8]) throws -> IdempotencyRecord? { try base.idempotency(keyHash: keyHash) }
        func subjectExists(id: Int64) throws -> Bool { try base.subjectExists(id: id) }
        func subject(id: Int64) throws -> SubjectRecord? {
            subjectReads += 1
            return try base.subject(id: id)
        }
        func consent(subjectID: Int64, purpose: Purpose) throws -> ConsentRecord? {
            consentProbes += 1
            return try base.consent(subjectID: subjectID, purpose: purpose)
        }
        func consents(subjectID: Int64) throws -> [ConsentRecord] { try base.consents(subjectID: subjectID) }
        func consentHistory(subjectID: Int64) throws -> [ConsentRecord] {
            try base.consentHistory(subjectID: subjectID)
        }
        func tokens(subjectID: Int64) throws -> [TokenRecord] { try base.tokens(subjectID: subjectID) }
        func auditRows(concerning subjectRef: [UInt8], after seq: Int64, limit: Int) throws -> [AuditRow] {
            try base.auditRows(concerning: subjectRef, after: seq, limit: limit)
        }
        func auditRecord(_ seq: Int64, isIndexedUnder subjectRef: [UInt8]) throws -> Bool {
            try base.auditRecord(seq, isIndexedUnder: subjectRef)
        }
        func countTokens(kind: Kind, createdBefore cutoff: Int64) throws -> Int {
            try base.countTokens(kind: kind, createdBefore: cutoff)
        }
    }

    /// The consent probes and subject reads of one call's look-ups, and its items.
    static func lookUp(
        _ t: TestVault,
        _ tokens: [String],
        purpose: Purpose,
        as caller: Caller
    ) async throws -> (probes: Int, subjectReads: Int, items: [RevealItem]) {
        let policy = t.vault.policy
        let call = DetokenizeCall(
            addresses: tokens.map { DetokenizeCall.Address(token: $0, keyring: t.keyring) },
            purpose: purpose,
            caller: caller,
            policy: policy,
            limits: policy.limits(for: caller.identity),
            keyring: t.keyring,
            now: t.clock.now,
            budgets: t.vault.budgets,
            sealer: t.vault.auditSealer
        )
        return try await t.store.read { reader in
            let counting = CountingReader(reader)
            guard case .answered(let answers) = try call.lookUp(counting) else {
                throw VaultError(.internal, "the call was refused")
            }
            return (counting.consentProbes, counting.subjectReads, answers.map(\.item))
        }
    }

    @Test func aPurposeThatNeedsNoConsentProbesNothingAndOneThatDoesProbesEachSubjectOnce() async throws {
        try await withVault(rightsYAML()) { t in
            let svc = try t.caller(RightsUID.service)
            let prefs = try t.caller(RightsUID.preferences)
            let dpo = try t.caller(RightsUID.dpo)
            let a = try await t.tokenize(.email, ["a1@example.com", "a2@example.com"], subject: "cust-a", as: svc)
            let b = try await t.tokenize(.email, ["b1@example.com"], subject: "cust-b", as: svc)
            let c = try await t.tokenize(.email, ["c1@example.com"], subject: "cust-c", as: svc)
            try await t.grant(["marketing"], to: "cust-a", as: prefs)
            _ = try await t.vault.restrict(subject: "cust-c", reason: "objection", caller: dpo)
            let all = a + b + c

            let view = try await Self.lookUp(t, all, purpose: "view", as: svc)
            #expect(view.probes == 0 && view.subjectReads == 0, "a purpose without consent costs no query")
            #expect(view.items.map(\.failure) == [nil, nil, nil, .restricted])

            let marketing = try await Self.lookUp(t, all, purpose: "marketing", as: svc)
            #expect(marketing.probes == 2, "one probe per distinct unrestricted subject")
            #expect(marketing.subjectReads == 0)
            #expect(marketing.items.map(\.failure) == [nil, nil, .noConsent, .restricted])
        }
    }
}

extension RevealItem {
    /// The failure, nil for a value.
    var failure: RevealFailure? {
        if case .error(let failure) = self { return failure }
        return nil
    }
}
