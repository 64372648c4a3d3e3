import Foundation
import Testing

@testable import VaultCore

/// The canonical JSON of audit records must be exactly what JSONEncoder (sorted keys, slashes unescaped)
/// writes, as the first records were, and must decode back to the same event: the chain hashes these bytes,
/// so `audit verify` of an existing log and the signatures over its heads depend on them never changing.
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
        // What erase and purge records add: per-kind tallies (nested, sorted by kind) and a data key version.
        all.append(
            AuditEvent(
                at: "2026-11-23T08:00:00Z",
                event: .purge,
                count: 7,
                subjectRefs: ["sref:00ff"],
                outcome: .ok,
                perKind: [
                    "text": AuditKindTally(tokens: 4, dataKeys: 1, cutoff: "2026-08-25T08:00:01Z"),
                    "email": AuditKindTally(tokens: 3, dataKeys: 0, cutoff: "2024-11-23T08:00:01Z"),
                ]
            )
        )
        all.append(
            AuditEvent(
                at: "2026-11-23T08:00:00Z",
                event: .erase,
                count: 3,
                outcome: .ok,
                perKind: ["card": AuditKindTally(tokens: 1), "address": AuditKindTally(tokens: 2)],
                dekVersion: 2
            )
        )
        return all
    }

    @Test(arguments: events)
    func matchesJSONEncoder(_ event: AuditEvent) {
        #expect(event.canonicalJSON() == event.encoderJSON())
        #expect(AuditEvent.decode(event.canonicalJSON()) == event)
    }

    /// Every member and every kind of escape, with the bytes the log has always held for them: `\b` and `\f`
    /// by name, other control characters as lower-case `\u00xx`, and `/`, DEL, C1 controls, U+2028/U+2029,
    /// U+FEFF and all other non-ASCII as they are.
    static let tricky: AuditEvent = {
        var e = AuditEvent(
            at: "2026-11-23T08:00:00Z",
            event: .detokenize,
            identity: "svc \"q\" \\ /x",
            uid: 4_294_967_295,
            roles: ["r/1", "é😀"],
            kind: "text",
            mode: "opaque",
            count: 2,
            subjects: ["cust\n1", "\u{2028}\u{2029}"],
            purpose: "bs\u{08}ff\u{0C}tab\t",
            items: [
                AuditItem(token: "ref:00ff", kind: "card", decision: .plain),
                AuditItem(token: "nul\u{0}\u{1f}\u{7f}", kind: nil, decision: .notFound),
            ],
            outcome: .denied,
            reason: "cr\r",
            detail: "\u{80}\u{9F}\u{FEFF}"
        )
        e.seq = 9_007_199_254_740_991
        return e
    }()

    @Test func canonicalBytesArePinned() {
        let expected =
            #"{"at":"2026-11-23T08:00:00Z","count":2,"detail":"\#u{80}\#u{9F}\#u{FEFF}","event":"detokenize","#
            + #""identity":"svc \"q\" \\ /x","items":[{"decision":"plain","kind":"card","token":"ref:00ff"},"#
            + #"{"decision":"not_found","token":"nul\u0000\u001f\#u{7F}"}],"kind":"text","mode":"opaque","#
            + #""outcome":"denied","purpose":"bs\bff\ftab\t","reason":"cr\r","roles":["r/1","é😀"],"#
            + #""seq":9007199254740991,"subjects":["cust\n1","\#u{2028}\#u{2029}"],"uid":4294967295}"#
        #expect(Array(Self.tricky.canonicalJSON().utf8) == Array(expected.utf8))
        let minimal = AuditEvent(at: "2026-01-01T00:00:00Z", event: .`init`, outcome: .ok)
        #expect(minimal.canonicalJSON() == #"{"at":"2026-01-01T00:00:00Z","event":"init","outcome":"ok","seq":0}"#)
    }

    /// `audit export` writes the stored members with `hash` and `prev` in name order, escaped as the record is
    /// (the bytes `JSONSerialization` wrote for it).
    @Test func exportLineIsPinned() throws {
        let body = Self.tricky.canonicalJSON()
        let row = AuditRow(
            seq: Self.tricky.seq,
            prev: [UInt8](repeating: 0x01, count: 32),
            hash: [UInt8](repeating: 0xAB, count: 32),
            body: body
        )
        let export = try #require(AuditExport.record(row))
        let expected =
            #"{"at":"2026-11-23T08:00:00Z","count":2,"detail":"\#u{80}\#u{9F}\#u{FEFF}","event":"detokenize","#
            + #""hash":"\#(String(repeating: "ab", count: 32))","#
            + #""identity":"svc \"q\" \\ /x","items":[{"decision":"plain","kind":"card","token":"ref:00ff"},"#
            + #"{"decision":"not_found","token":"nul\u0000\u001f\#u{7F}"}],"kind":"text","mode":"opaque","#
            + #""outcome":"denied","prev":"\#(String(repeating: "01", count: 32))","#
            + #""purpose":"bs\bff\ftab\t","reason":"cr\r","roles":["r/1","é😀"],"#
            + #""seq":9007199254740991,"subjects":["cust\n1","\#u{2028}\#u{2029}"],"uid":4294967295}"#
        #expect(Array(export.line.utf8) == Array(expected.utf8))
        #expect(export.event == Self.tricky)
        // A member this version does not know (written by a later one) is exported as stored.
        let later = AuditRow(
            seq: 1,
            prev: [],
            hash: [],
            body: #"{"at":"x","event":"init","outcome":"ok","seq":1,"zone":"eu/1"}"#
        )
        #expect(
            AuditExport.record(later)?.line
                == #"{"at":"x","event":"init","hash":"","outcome":"ok","prev":"","seq":1,"zone":"eu/1"}"#
        )
    }
}

extension AuditEvent {
    /// What `canonicalJSON()` must equal byte for byte: the record through `Encodable`, as the first records
    /// were written.
    fileprivate func encoderJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A struct of strings, integers and arrays of them always encodes.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }
}
