import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore
@testable import VaultSQLite

/// The audit log never holds a value, a mask of one, or a token: every token appears as `ref:` + hex of its
/// keyed audit reference, under a key of its own (never equal to the look-up hash stored in the tokens table).
@Suite struct AuditPrivacyTests {
    /// Distinctive values, so any trace of them in a record is unmistakable.
    static let values: [(Kind, String)] = [
        (.card, "4012 8888 8888 1881"),
        (.email, "Zebulon.Quixote@Wanderlust-Mail.example"),
        (.name, "Zebulon Quixote"),
        (.phone, "+44 20 7946 0958"),
    ]

    struct Findings {
        /// Every string that must not appear in an audit record, with a label that is safe to print.
        var secrets: [(label: String, text: String)] = []
        var tokens: [Kind: String] = [:]
        mutating func add(_ label: String, _ text: String) {
            secrets.append((label, text))
            secrets.append((label + " (lower-cased)", text.lowercased()))
        }
        /// Values and masks returned by detokenize.
        mutating func add(_ label: String, _ items: [RevealItem]) {
            for (i, item) in items.enumerated() {
                if case .value(let text, let mode) = item { add("\(label) item \(i) \(mode.rawValue)", text) }
            }
        }
    }

    @Test func recordsHoldNoValueMaskOrFormatPreservingToken() async throws {
        try await withTemporaryFolder { folder in
            let fixture = try AuditVault.make(in: folder)
            let vault = fixture.vault
            var found = Findings()
            for (kind, value) in Self.values {
                let tokens = try await vault.tokenize(
                    TokenizeRequest(kind: kind, subject: "cust-privacy", values: [value]),
                    caller: fixture.checkout
                )
                found.tokens[kind] = tokens[0]
                found.add("\(kind.rawValue) value", value)
                found.add("\(kind.rawValue) normalized", try kind.normalize(value, index: 0))
                found.add("\(kind.rawValue) digits", String(value.filter(\.isNumber)))
                if !TokenFormat.isWellFormed(tokens[0]) {
                    found.add("\(kind.rawValue) format-preserving token", tokens[0])
                }
            }
            found.add("email domain", "Wanderlust-Mail")
            found.add("email local part", "Zebulon.Quixote")
            found.add("surname", "Quixote")
            let card = try #require(found.tokens[.card])
            let email = try #require(found.tokens[.email])
            let name = try #require(found.tokens[.name])
            let phone = try #require(found.tokens[.phone])
            let shapes = [card, phone, email, name].map { TokenFormat.isWellFormed($0) }
            #expect(
                shapes == [false, false, true, true],
                "card and phone tokens are format-preserving, email and name opaque-shaped"
            )

            // Every kind of reveal: plain, masked, denied, not found, a raw value sent as a token, an oversized one.
            let plain = try await vault.detokenize([card], purpose: "charge", caller: fixture.checkout)
            #expect(plain.count == 1)
            if case .value(_, .plain) = plain[0] {} else { Issue.record("the card was not revealed in full") }
            found.add("plain card", plain)
            let masked = try await vault.detokenize([email, name, phone], purpose: "receipt", caller: fixture.checkout)
            let allMasked = masked.allSatisfy { if case .value(_, .masked) = $0 { true } else { false } }
            #expect(allMasked)
            found.add("receipt", masked)
            let support = try await vault.detokenize(
                [email, phone, card],
                purpose: "support",
                caller: fixture.helpdesk
            )
            let cardDenied = support[2] == .error(.denied)
            #expect(cardDenied)
            found.add("support", support)
            let mistaken = try await vault.detokenize(
                [
                    "4012888888881881", "Zebulon.Quixote@Wanderlust-Mail.example",
                    String(repeating: "9", count: 600),
                ],
                purpose: "charge",
                caller: fixture.checkout
            )
            let noneFound = mistaken.allSatisfy { $0 == .error(.notFound) }
            #expect(noneFound)
            try await vault.sealAudit()
            let rows = try await fixture.rows()
            await fixture.store.close()
            #expect(rows.count == 4 + 4)

            // 1. No record holds any value, normalized value, mask or format-preserving token.
            var leaks: [String] = []
            for row in rows {
                for secret in found.secrets where row.body.contains(secret.text) {
                    leaks.append("\(secret.label) in record \(row.seq)")
                }
            }
            #expect(leaks.isEmpty, "\(leaks)")

            // 2. Apart from tok_ tokens and ref: hashes, no record holds a run of 8 or more digits (a card,
            //    a phone number, a card token).
            for row in rows {
                let stripped = row.body.replacing(/ref:[0-9a-f]{32}/, with: "").replacing(
                    /tok_[0-9A-Za-z]{22}/,
                    with: ""
                )
                #expect(stripped.firstMatch(of: /\d{8,}/) == nil, "a long digit run in record \(row.seq)")
            }

            // 3. Every audited token is a ref: (opaque ones too: they are bearer capabilities), the same token
            //    always the same ref, and no ref is the look-up hash the tokens table stores.
            let keyring = fixture.keyring
            let expectedRef = { (token: String) in keyring.auditReference(of: token) }
            let lookupRef = { (token: String) in
                "ref:" + Hex.encode(Binding.lookup(token: token, key: keyring.lookupKey))
            }
            var audited: [String] = []
            for row in rows {
                let event = try #require(AuditEvent.decode(row.body))
                for item in event.items ?? [] {
                    audited.append(item.token)
                    let shaped = item.token.wholeMatch(of: /ref:[0-9a-f]{32}/) != nil || item.token == "ref:oversized"
                    #expect(shaped, "item in record \(row.seq) is not a ref:")
                    #expect(!TokenFormat.isWellFormed(item.token), "a token in record \(row.seq) is written as itself")
                }
            }
            #expect(
                audited.filter { $0 == expectedRef(card) }.count == 2,
                "the card token is audited as its ref each time"
            )
            #expect(audited.filter { $0 == expectedRef(phone) }.count == 2)
            #expect(
                audited.filter { $0 == expectedRef(email) }.count == 2,
                "opaque tokens are audited by reference too"
            )
            #expect(!audited.contains(email))
            for token in [card, phone, email] {
                #expect(!audited.contains(lookupRef(token)), "an audit ref equals a stored look-up hash")
            }
            let rawCardAsRef = audited.contains(expectedRef("4012888888881881"))
            #expect(rawCardAsRef, "a raw card sent as a token is audited as its ref")
            #expect(audited.contains("ref:oversized"))

            // 4. The database file as a whole holds none of them either (values are sealed, tokens hashed).
            var fileLeaks: [String] = []
            for file in [fixture.databasePath, fixture.databasePath + "-wal"] {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                for secret in found.secrets
                where secret.text.utf8.count >= 6 && data.range(of: Data(secret.text.utf8)) != nil {
                    fileLeaks.append("\(secret.label) in \((file as NSString).lastPathComponent)")
                }
            }
            #expect(fileLeaks.isEmpty, "\(fileLeaks)")
        }
    }

    @Test func tokenizeAndEraseRecordsNameOnlyPublicFacts() async throws {
        try await withTemporaryFolder { folder in
            let fixture = try AuditVault.make(in: folder)
            _ = try await fixture.vault.tokenize(
                TokenizeRequest(kind: .name, subject: "cust-7", values: ["Ada Lovelace", "Grace Hopper"]),
                caller: fixture.checkout
            )
            #expect(try await fixture.vault.erase(subject: "cust-7", caller: fixture.helpdesk).erased == 2)
            let rows = try await fixture.rows()
            await fixture.store.close()
            let events = try rows.map { try #require(AuditEvent.decode($0.body)) }
            #expect(events.map(\.event) == [.tokenize, .erase])
            #expect(
                events[0].kind == "name" && events[0].count == 2 && events[0].subjects == ["cust-7"]
                    && events[0].identity == "checkout"
            )
            #expect(events[1].count == 2 && events[1].identity == "helpdesk" && events[1].outcome == .ok)
            let bodies = rows.map(\.body).joined()
            let named = ["Lovelace", "Hopper", "Ada", "Grace"].filter { bodies.contains($0) }.count
            #expect(named == 0, "a name appears in an audit record")
            // Bodies are canonical: what is hashed re-encodes to itself.
            for (row, event) in zip(rows, events) { #expect(event.canonicalJSON() == row.body) }
        }
    }
}
