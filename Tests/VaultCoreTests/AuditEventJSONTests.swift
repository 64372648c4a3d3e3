import Foundation
import Testing

@testable import VaultCore

/// The hand-written canonical JSON of audit records must be exactly what JSONEncoder (sorted keys, slashes
/// unescaped) writes, and must decode back to the same event.
struct AuditEventJSONTests {
    static let awkward: [String] = [
        "", "plain", "a/b", "quote \" backslash \\", "é ü 😀 \u{2028} \u{7F}", "tab\tnl\nret\rbs\u{08}ff\u{0C}",
        String((0..<0x20).map { Character(Unicode.Scalar($0)!) }), "tok_SgdSfgWZmT06jf5ofgIYlb", "ref:00ff",
    ]

    static var events: [AuditEvent] {
        var all: [AuditEvent] = [AuditEvent(at: "2026-01-01T00:00:00Z", event: .`init`, outcome: .ok)]
        for text in awkward {
            var e = AuditEvent(
                at: "2026-11-23T08:00:00Z",
                event: .detokenize,
                identity: text,
                uid: 1001,
                roles: [text, "r"],
                kind: text,
                mode: "opaque",
                count: 3,
                subjects: ["cust-1", text],
                purpose: text,
                items: [
                    AuditItem(token: text, kind: "card", decision: .plain),
                    AuditItem(token: "t", kind: nil, decision: .notFound),
                ],
                outcome: .denied,
                reason: text,
                detail: text
            )
            e.seq = 9_007_199_254_740_991
            all.append(e)
        }
        all.append(AuditEvent(at: "x", event: .tokenize, roles: [], subjects: [], items: [], outcome: .ok))
        return all
    }

    @Test(arguments: events)
    func matchesJSONEncoder(_ event: AuditEvent) {
        #expect(event.canonicalJSON() == event.encoderJSON())
        #expect(AuditEvent.decode(event.canonicalJSON()) == event)
    }
}
