import Testing

@testable import VaultCore

/// The audit log's words are part of its format: records on disk hold them, chains hash them and seals sign
/// them. Every word ever written is pinned here, so renaming a case's raw value fails a test rather than
/// making old logs unreadable (docs/AUDIT.md).
struct AuditVocabularyTests {
    @Test func eventWordsAreTheLogFormat() {
        #expect(
            AuditEvent.Event.allCases.map(\.rawValue) == [
                "tokenize", "detokenize", "erase", "policy_load", "init", "key_rotate", "key_rotate_token",
                "key_rewrap", "key_retire", "key_passphrase", "connect", "restore", "audit_accept",
                "consent_grant", "consent_withdraw", "subject_restrict", "subject_unrestrict", "subject_report",
                "subject_export", "purge",
            ]
        )
    }

    @Test func outcomeWordsAreTheLogFormat() {
        #expect(AuditEvent.Outcome.allCases.map(\.rawValue) == ["ok", "started", "denied", "refused", "rollback"])
    }

    @Test func decisionWordsAreTheLogFormat() {
        let decisions: [AuditItem.Decision] = [
            .plain, .masked, .denied, .notFound, .integrity, .noConsent, .restricted, .refused,
        ]
        #expect(
            decisions.map(\.rawValue) == [
                "plain", "masked", "denied", "not_found", "integrity", "no_consent", "restricted", "refused",
            ]
        )
        #expect(decisions.map { AuditItem.Decision(rawValue: $0.rawValue) } == decisions)
        #expect(AuditItem.Decision(rawValue: "revealed") == nil)
    }

    /// A record as an earlier cvault wrote it decodes, and writes back byte for byte: its hash still holds.
    @Test func aRecordOnDiskDecodesAndReencodesUnchanged() throws {
        let body =
            #"{"at":"2026-03-01T10:00:00Z","count":2,"event":"detokenize","identity":"svc","items":[{"decision":"not_found","kind":"card","token":"ref:00112233445566778899aabbccddeeff"},{"decision":"refused","token":"ref:oversized"}],"outcome":"refused","purpose":"charge","reason":"miss budget","roles":["service"],"seq":7,"uid":1001}"#
        let event = try #require(AuditEvent.decode(body))
        #expect(event.event == .detokenize && event.outcome == .refused)
        #expect(event.items?.map(\.decision) == [.notFound, .refused])
        #expect(event.canonicalJSON() == body)
    }

    /// A word no cvault writes is not a record: the verifier reports it rather than reading past it.
    @Test func anUnknownWordIsNotARecord() {
        #expect(AuditEvent.decode(#"{"at":"x","event":"tokenise","outcome":"ok","seq":1}"#) == nil)
        #expect(AuditEvent.decode(#"{"at":"x","event":"tokenize","outcome":"fine","seq":1}"#) == nil)
    }
}
