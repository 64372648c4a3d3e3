import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// Audit records that concern a subject name it by a keyed reference (`subject_refs`, docs/AUDIT.md), and the
/// store finds them by it: a subject's report never reads the whole log.
@Suite struct AuditSubjectIndexTests {
    @Test(arguments: [TestStoreBackend.inMemory, .sqlite])
    func recordsAreFoundByTheSubjectsTheyConcernAndItemsPointAtTheirSubject(_ backend: TestStoreBackend) async throws {
        try await withVault(serviceYAML(), on: backend) { t in
            let svc = try t.caller(UID.service)
            let a = try await t.tokenize(.email, [Sample.of(.email).raw], subject: "cust-a", as: svc)[0]
            let b = try await t.tokenize(.email, ["other@example.org"], subject: "cust-b", as: svc)[0]
            let unknown = "tok_" + String(repeating: "u", count: 22)
            _ = try await t.vault.detokenize([b, unknown, a, b], purpose: "view", caller: svc)
            _ = try await t.vault.detokenize([b], purpose: "view", caller: svc)
            _ = try await t.vault.erase(subject: "cust-a", caller: svc)

            let refA = t.keyring.subjectReference("cust-a")
            let refB = t.keyring.subjectReference("cust-b")
            #expect(refA != refB && refA.hasPrefix("sref:") && refA.count == 5 + 32)
            let keyA = try #require(Binding.subjectReferenceBytes(refA))
            let keyB = try #require(Binding.subjectReferenceBytes(refB))
            let (ofA, ofB) = try await t.store.read { reader in
                (
                    try reader.auditRows(concerning: keyA, after: 0, limit: 100),
                    try reader.auditRows(concerning: keyB, after: 0, limit: 100)
                )
            }
            let eventsOfA = ofA.compactMap { AuditEvent.decode($0.body) }
            #expect(eventsOfA.map(\.event) == [.tokenize, .detokenize, .erase])
            #expect(ofB.compactMap { AuditEvent.decode($0.body)?.event } == [.tokenize, .detokenize, .detokenize])

            // The shared detokenize names both subjects once, in order of first mention, and each item points
            // at its own row's subject; the unknown token points at none.
            let shared = try #require(eventsOfA.first { $0.event == .detokenize })
            #expect(shared.subjectRefs == [refB, refA])
            #expect(shared.items?.map(\.subject) == [0, nil, 1, 0])
            #expect(shared.subjects == nil, "a detokenize names subjects only by their keyed references")
            // Tokenize and erase name the subject by id, as before, and by reference.
            #expect(eventsOfA.first?.subjects == ["cust-a"] && eventsOfA.first?.subjectRefs == [refA])
            #expect(eventsOfA.last?.subjects == ["cust-a"] && eventsOfA.last?.subjectRefs == [refA])
            // The references are in the hashed body, not only in the index.
            #expect(ofA.allSatisfy { $0.body.contains(refA) })
        }
    }
}
