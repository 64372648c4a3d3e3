import Foundation
import Testing
import VaultJSON
import VaultTestSupport

@testable import VaultCore

/// The customer's access report (`Vault.report`) and export (`Vault.export`), checked item by item against a
/// history made through the vault: what the report lists is exactly what was done to the subject, and
/// nothing of anyone else's, never a value, a mask or a token.
@Suite struct VaultAccessReportTests {
    /// `svc` (2001) tokenizes, reveals plain for `view`, masked for `glance`, erases; `reader` (2002) reveals
    /// plain for `view`; `nobody` (2003) has no role; `auditor` (2004) may only report; `access` (2005) reveals
    /// emails plain and names masked for `subject-access` (cards not at all); `limited` (2006) reveals
    /// plain for `view` once a minute.
    static let policy = """
        kinds:
          email: deterministic
          card: format-preserving
        identities:
          - {name: svc, uid: 2001, roles: [service]}
          - {name: reader, uid: 2002, roles: [reader]}
          - {name: nobody, uid: 2003, roles: []}
          - {name: auditor, uid: 2004, roles: [dpo]}
          - {name: access, uid: 2005, roles: [portability]}
          - {name: limited, uid: 2006, roles: [trickle]}
        roles:
          service:
            tokenize: [email, card, name, text]
            detokenize:
              - {kinds: [email, card, name, text], purposes: [view], reveal: plain}
              - {kinds: [email, card, name, text], purposes: [glance], reveal: masked}
            erase: true
          reader:
            detokenize:
              - {kinds: [email, card, name, text], purposes: [view], reveal: plain}
          dpo:
            report: true
          portability:
            detokenize:
              - {kinds: [email, text], purposes: [subject-access], reveal: plain}
              - {kinds: [name], purposes: [subject-access], reveal: masked}
          trickle:
            detokenize:
              - {kinds: [email, card, name, text], purposes: [view], reveal: plain}
            limits: {reveals_per_minute: 1}

        """

    enum Who {
        static let svc: UInt32 = 2001
        static let reader: UInt32 = 2002
        static let nobody: UInt32 = 2003
        static let auditor: UInt32 = 2004
        static let access: UInt32 = 2005
        static let limited: UInt32 = 2006
    }

    /// Each disclosure as `identity purpose kind token decision`: who, for what, which token (its audit
    /// reference), what it got.
    static func seen(_ body: JSONValue) -> [String] {
        list(body, "disclosures").map { item in
            ["identity", "purpose", "kind", "token", "decision"].map { item[$0]?.stringValue ?? "-" }
                .joined(separator: " ")
        }
    }

    static func list(_ body: JSONValue, _ name: String) -> [JSONValue] {
        if case .array(let items)? = body[name] { return items }
        return []
    }

    @Test func aLongHistoryIsReportedItemByItemAndNothingElse() async throws {
        try await withVault(Self.policy) { t in
            let svc = try t.caller(Who.svc)
            let customer: Subject = "cust-42"
            let values = ["ada@example.com", "4111111111111111", "Ada Lovelace", "a note about ada"]
            let email = try await t.tokenize(.email, [values[0]], subject: customer, as: svc)[0]
            let card = try await t.tokenize(.card, [values[1]], subject: customer, as: svc)[0]
            let name = try await t.tokenize(.name, [values[2]], subject: customer, as: svc)[0]
            let note = try await t.vault.tokenize(
                TokenizeRequest(
                    kind: .text,
                    subject: customer,
                    values: [values[3]],
                    limits: TokenLimits(expiresAt: t.clock.now + 10, maxReveals: 5)
                ),
                caller: svc
            )[0]
            let other = try await t.tokenize(.email, ["bob@example.com"], subject: "cust-7", as: svc)[0]
            let ref = { (token: String) in t.keyring.auditReference(of: token) }

            // Reveals by several identities for several purposes, plain and masked; denials; a batch that
            // also holds another customer's token, whose item must not appear.
            let mixed = try await t.vault.detokenize([email, other, note], purpose: "view", caller: svc)
            let masked = try await t.vault.detokenize([card, name], purpose: "glance", caller: svc)
            _ = try await t.vault.detokenize([name], purpose: "view", caller: try t.caller(Who.reader))
            _ = try await t.vault.detokenize([card], purpose: "glance", caller: try t.caller(Who.reader))
            _ = try await t.vault.detokenize([email], purpose: "view", caller: try t.caller(Who.nobody))
            // A reveal rate of one a minute: the second call is refused whole.
            let limited = try t.caller(Who.limited)
            _ = try await t.vault.detokenize([card], purpose: "view", caller: limited)
            await #expect(throws: VaultError.self) {
                try await t.vault.detokenize([name, other], purpose: "view", caller: limited)
            }
            // The note expires: not_found on a row that was found.
            t.clock.advance(by: 20)
            _ = try await t.vault.detokenize([note], purpose: "view", caller: svc)
            // A report refused (svc may not report), audited.
            await #expect(throws: VaultError.self) { try await t.vault.report(subject: customer, caller: svc) }
            // The customer's choices, as the store records them.
            let subjectID = try #require(try await t.store.read { try $0.subject(named: "cust-42") }).id
            let now = t.clock.now
            try await t.store.write { w in
                try w.recordConsent(
                    ConsentRecord(
                        subjectID: subjectID,
                        purpose: "marketing",
                        state: .granted,
                        at: now - 5,
                        source: "signup"
                    )
                )
                try w.recordConsent(
                    ConsentRecord(
                        subjectID: subjectID,
                        purpose: "marketing",
                        state: .withdrawn,
                        at: now,
                        source: "footer"
                    )
                )
                try w.recordConsent(
                    ConsentRecord(
                        subjectID: subjectID,
                        purpose: "personalization",
                        state: .granted,
                        at: now - 5,
                        source: "app",
                        expiresAt: now - 1
                    )
                )
                try w.setRestriction(subjectID: subjectID, Restriction(since: now, reason: "accuracy-contested"))
            }

            let statement = try await t.vault.report(subject: customer, caller: try t.caller(Who.auditor))
            let body = statement.body.json
            #expect(body["subject"] == .string("cust-42"))
            #expect(body["status"] == .string("held"))

            let expected = [
                "svc view email \(ref(email)) plain",
                "svc view text \(ref(note)) plain",
                "svc glance card \(ref(card)) masked",
                "svc glance name \(ref(name)) masked",
                "reader view name \(ref(name)) plain",
                "reader glance card \(ref(card)) denied",
                "nobody view email \(ref(email)) denied",
                "limited view card \(ref(card)) plain",
                "limited view name \(ref(name)) refused",
                "svc view text \(ref(note)) not_found",
            ]
            #expect(Self.seen(body) == expected)
            #expect(!Self.seen(body).contains { $0.contains(ref(other)) })
            let disclosures = Self.list(body, "disclosures")
            #expect(disclosures[8]["reason"] == .string("rate limited"))
            #expect(disclosures[4]["roles"] == .array([.string("reader")]))

            // The tokens held, by row reference, with their types, times and limits; never the tokens.
            let tokens = Self.list(body, "tokens")
            #expect(tokens.map { $0["kind"]?.stringValue } == ["email", "card", "name", "text"])
            #expect(
                tokens.map { $0["token_type"]?.stringValue } == [
                    "deterministic", "format-preserving", "opaque", "opaque",
                ]
            )
            #expect(tokens.allSatisfy { $0["reference"]?.stringValue?.hasPrefix("row:") == true })
            #expect(Set(tokens.compactMap { $0["reference"]?.stringValue }).count == 4)
            #expect(tokens[3]["limits"]?["max_reveals"] == .int(5))
            #expect(tokens[3]["reveals"] == .int(1))
            #expect(tokens[0]["reveals"] == nil)
            #expect(tokens[0]["created_at"] == .string(VaultClock.iso8601(1_800_000_000)))

            // Consent now and over time; the restriction.
            let consent = Self.list(body, "consent").map {
                "\($0["purpose"]?.stringValue ?? "") \($0["state"]?.stringValue ?? "")"
            }
            #expect(consent.sorted() == ["marketing withdrawn", "personalization expired"])
            #expect(Self.list(body, "consent_history").count == 3)
            #expect(body["restriction"]?["restricted"] == .bool(true))
            #expect(body["restriction"]?["reason"] == .string("accuracy-contested"))

            // Every other record: the tokenizes (not cust-7's), the refused report, and this report last, which
            // is the head the statement covers.
            let events = Self.list(body, "events")
            #expect(
                events.map { "\($0["event"]?.stringValue ?? "") \($0["outcome"]?.stringValue ?? "")" } == [
                    "tokenize ok", "tokenize ok", "tokenize ok", "tokenize ok", "subject_report denied",
                    "subject_report ok",
                ]
            )
            let rows = try await t.auditRows()
            let head = try #require(rows.last)
            #expect(statement.head == AuditSealer.Head(seq: head.seq, hash: head.hash))
            #expect(events.last?["seq"] == .int(head.seq))
            #expect(events.last?["hash"] == .string(Hex.encode(head.hash)))

            // Signed, and verifies; a changed byte does not.
            _ = try Statement.verify(fileBytes: statement.fileBytes, publicKey: t.keyring.auditPublicKey)
            var tampered = statement.fileBytes
            tampered[tampered.count / 2] ^= 0x01
            #expect(throws: VaultError.self) {
                try Statement.verify(fileBytes: tampered, publicKey: t.keyring.auditPublicKey)
            }

            // No value, no mask, no token in the bytes.
            let masks = masked.compactMap { item -> String? in if case .value(let v, _) = item { v } else { nil } }
            #expect(masks.count == 2 && mixed.count == 3)
            let file = String(decoding: statement.fileBytes, as: UTF8.self)
            for secret in values + masks + [email, card, name, note, other, "bob@example.com"] {
                #expect(!file.contains(secret), "the report holds a value, mask or token")
            }
        }
    }

    @Test func afterAnEraseTheReportSaysWhenAndByWhomAndNamesTheEraseRecord() async throws {
        try await withVault(Self.policy) { t in
            let svc = try t.caller(Who.svc)
            let token = try await t.tokenize(.name, ["Grace Hopper"], subject: "cust-9", as: svc)[0]
            _ = try await t.vault.detokenize([token], purpose: "view", caller: svc)
            t.clock.advance(by: 60)
            #expect(try await t.vault.erase(subject: "cust-9", caller: svc).erased == 1)
            let erase = try #require(try await t.auditRows().last)

            let statement = try await t.vault.report(subject: "cust-9", caller: try t.caller(Who.auditor))
            let body = statement.body.json
            #expect(body["status"] == .string("erased"))
            #expect(Self.list(body, "tokens").isEmpty)
            #expect(body["erased"]?["identity"] == .string("svc"))
            #expect(body["erased"]?["at"] == .string(VaultClock.iso8601(1_800_000_060)))
            #expect(body["erased"]?["seq"] == .int(erase.seq))
            #expect(body["erased"]?["hash"] == .string(Hex.encode(erase.hash)))
            #expect(body["erased"]?["count"] == .int(1))
            // Every public member of the record, none naming subjects or tokens.
            #expect(body["erased"]?["subjects"] == nil && body["erased"]?["subject_refs"] == nil)
            #expect(Self.list(body, "events").first?["token_type"] == .string("opaque"))
            #expect(Self.list(body, "events").first?["kind"] == .string("name"))
            // The disclosure before the erase is still reported.
            #expect(Self.seen(body).map { $0.split(separator: " ").last } == ["plain"])
            #expect(
                Self.list(body, "events").map { $0["event"]?.stringValue } == ["tokenize", "erase", "subject_report"]
            )
            _ = try Statement.verify(fileBytes: statement.fileBytes, publicKey: t.keyring.auditPublicKey)

            // A subject the vault never held: `unknown`, and still audited.
            let unknown = try await t.vault.report(subject: "cust-never", caller: try t.caller(Who.auditor))
            #expect(unknown.body.json["status"] == .string("unknown"))
        }
    }

    /// Each held token says until when the enforced policy keeps it; one past that time (hidden by the gate,
    /// not yet purged) is still listed, with its end in the past, since the vault still holds it.
    @Test func heldTokensSayHowLongThePolicyKeepsThem() async throws {
        let clock = TestClock()
        try await withVault(Self.policy + "retention: {email: 10d}\n", clock: clock) { t in
            let svc = try t.caller(UID.service)
            let created = clock.now
            _ = try await t.tokenize(.email, [Sample.of(.email).raw], subject: "cust-42", as: svc)
            _ = try await t.tokenize(.text, ["a note"], subject: "cust-42", as: svc)
            func held() async throws -> [String] {
                let body = try await t.vault.report(subject: "cust-42", caller: try t.caller(Who.auditor)).body.json
                return Self.list(body, "tokens").map { token in
                    "\(token["kind"]?.stringValue ?? "-") \(token["retained_until"]?.stringValue ?? "until erased")"
                }
            }
            let end = RFC3339.format(created + 10 * 86_400)
            #expect(try await held() == ["email \(end)", "text until erased"])
            clock.advance(by: 11 * 86_400)
            #expect(try await held() == ["email \(end)", "text until erased"], "held until the purge removes it")
        }
    }

    @Test func aReportNeedsTheReportPermissionAndADenialIsAudited() async throws {
        try await withVault(Self.policy) { t in
            for uid in [Who.svc, Who.reader, Who.nobody, Who.access] {
                let error = await #expect(throws: VaultError.self) {
                    try await t.vault.report(subject: "cust-42", caller: try t.caller(uid))
                }
                #expect(error?.code == .denied)
                let last = try #require(try await t.auditRows().last)
                let record = try #require(AuditEvent.decode(last.body))
                #expect(record.event == .subjectReport && record.outcome == .denied)
                #expect(record.subjectRefs == [t.keyring.subjectReference("cust-42")])
            }
        }
    }

    @Test func anExportPassesTheGateKindByKindAndIsAudited() async throws {
        try await withVault(Self.policy) { t in
            let svc = try t.caller(Who.svc)
            let email = "ada@example.com"
            _ = try await t.tokenize(.email, [email], subject: "cust-42", as: svc)
            _ = try await t.tokenize(.name, ["Ada Lovelace"], subject: "cust-42", as: svc)
            _ = try await t.tokenize(.card, ["4111111111111111"], subject: "cust-42", as: svc)
            // The same deterministic token held by another customer: its row is not the one exported.
            _ = try await t.tokenize(.email, [email], subject: "cust-7", as: svc)

            let export = try await t.vault.export(
                subject: "cust-42",
                purpose: "subject-access",
                caller: try t.caller(Who.access)
            )
            // Email granted plain; names only masked (not exported); cards not granted.
            #expect(export.items.map(\.kind) == [.email, .name, .card])
            #expect(export.items.map(\.result) == [.value(email, .plain), .error(.denied), .error(.denied)])

            let last = try #require(try await t.auditRows().last)
            let record = try #require(AuditEvent.decode(last.body))
            #expect(record.event == .subjectExport && record.outcome == .ok)
            #expect(record.subjects == ["cust-42"])
            #expect(record.subjectRefs == [t.keyring.subjectReference("cust-42")])
            #expect(record.purpose == "subject-access")
            #expect(record.items?.map(\.decision) == [.plain, .denied, .denied])
            #expect(record.items?.allSatisfy { $0.subject == 0 } == true)
            // Items name the tokens by the report's references.
            #expect(record.items?.map(\.token) == export.items.map(\.reference))

            // A caller with no grant for the purpose exports nothing; the refusal is audited too.
            let none = try await t.vault.export(
                subject: "cust-42",
                purpose: "subject-access",
                caller: try t.caller(Who.reader)
            )
            #expect(none.items.allSatisfy { $0.result == .error(.denied) })
            // The report lists the export as an event and each item as a disclosure, without the value.
            let report = try await t.vault.report(subject: "cust-42", caller: try t.caller(Who.auditor))
            let seen = Self.seen(report.body.json).filter { $0.contains(" subject-access ") }
            #expect(
                seen.map { $0.split(separator: " ").last } == [
                    "plain", "denied", "denied", "denied", "denied", "denied",
                ]
            )
            #expect(
                Self.list(report.body.json, "events").filter { $0["event"] == .string("subject_export") }.count == 2
            )
            #expect(!String(decoding: report.fileBytes, as: UTF8.self).contains(email))
        }
    }

    /// `prefs` (2007) records consent and restrictions; `svc` reveals emails for `marketing` (which needs
    /// consent) and `legal-hold` (exempt from restriction).
    static let choices = """
        identities:
          - {name: svc, uid: 2001, roles: [service]}
          - {name: auditor, uid: 2004, roles: [dpo]}
          - {name: access, uid: 2005, roles: [portability]}
          - {name: prefs, uid: 2007, roles: [preferences]}
        roles:
          service:
            tokenize: [email]
            detokenize:
              - {kinds: [email], purposes: [marketing, legal-hold], reveal: plain}
          dpo:
            report: true
          portability:
            detokenize:
              - {kinds: [email], purposes: [subject-access], reveal: plain}
          preferences:
            consent: true
            restrict: true
        consent_required: [marketing]
        restriction_exempt: [legal-hold]

        """

    @Test func consentAndRestrictionAreReportedAsEnforcedAndARestrictedExportIsRefused() async throws {
        try await withVault(Self.choices) { t in
            let svc = try t.caller(Who.svc)
            let prefs = try t.caller(2007)
            let access = try t.caller(Who.access)
            let value = "ada.choices@example.com"
            let token = try await t.tokenize(.email, [value], subject: "cust-42", as: svc)
            var answers: [RevealItem] = []
            answers += try await t.vault.detokenize(token, purpose: "marketing", caller: svc)
            _ = try await t.vault.grantConsent(
                subject: "cust-42",
                purposes: ["marketing"],
                source: "signup",
                caller: prefs
            )
            answers += try await t.vault.detokenize(token, purpose: "marketing", caller: svc)
            _ = try await t.vault.withdrawConsent(subject: "cust-42", purposes: .all, source: "footer", caller: prefs)
            answers += try await t.vault.detokenize(token, purpose: "marketing", caller: svc)
            _ = try await t.vault.restrict(subject: "cust-42", reason: "accuracy-contested", caller: prefs)
            answers += try await t.vault.detokenize(token, purpose: "legal-hold", caller: svc)
            answers += try await t.vault.detokenize(token, purpose: "marketing", caller: svc)
            #expect(
                answers == [
                    .error(.noConsent), .value(value, .plain), .error(.noConsent), .value(value, .plain),
                    .error(.restricted),
                ]
            )
            // Restricted: the export hands out nothing.
            let refused = try await t.vault.export(subject: "cust-42", purpose: "subject-access", caller: access)
            #expect(refused.items.map(\.result) == [.error(.restricted)])

            let body = try await t.vault.report(subject: "cust-42", caller: try t.caller(Who.auditor)).body.json
            let ref = t.keyring.auditReference(of: token[0])
            let row = try #require(Self.list(body, "tokens").first?["reference"]?.stringValue)
            #expect(
                Self.seen(body) == [
                    "svc marketing email \(ref) no_consent", "svc marketing email \(ref) plain",
                    "svc marketing email \(ref) no_consent", "svc legal-hold email \(ref) plain",
                    "svc marketing email \(ref) restricted", "access subject-access email \(row) restricted",
                ]
            )
            #expect(
                Self.list(body, "events").map { $0["event"]?.stringValue ?? "" } == [
                    "tokenize", "consent_grant", "consent_withdraw", "subject_restrict", "subject_export",
                    "subject_report",
                ]
            )
            #expect(Self.list(body, "consent").map { $0["state"] } == [.string("withdrawn")])
            #expect(Self.list(body, "consent_history").map { $0["state"]?.stringValue } == ["granted", "withdrawn"])
            #expect(body["restriction"]?["reason"] == .string("accuracy-contested"))

            // Lifted: the export goes through.
            _ = try await t.vault.unrestrict(subject: "cust-42", caller: prefs)
            let exported = try await t.vault.export(subject: "cust-42", purpose: "subject-access", caller: access)
            #expect(exported.items.map(\.result) == [.value(value, .plain)])
        }
    }
}
