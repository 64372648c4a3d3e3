import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// Tokenize then detokenize, for every kind in every token mode it supports, through the real store.
@Suite struct VaultRoundTripTests {
    @Test(arguments: TokenMode.allCases)
    func everyKindRoundTripsPlainAndMasked(mode: TokenMode) async throws {
        try await withVault(serviceYAML(mode: mode)) { t in
            let svc = try t.caller(UID.service)
            for sample in Sample.all where sample.kind.supports(mode) {
                let tokens = try await t.tokenize(sample.kind, [sample.raw], subject: "cust-1", as: svc)
                try #require(tokens.count == 1)
                expectShape(tokens[0], of: sample, mode: mode)
                expectItems(
                    try await t.vault.detokenize(tokens, purpose: "view", caller: svc),
                    [.value(sample.normalized, .plain)],
                    "\(sample) \(mode) plain:"
                )
                expectItems(
                    try await t.vault.detokenize(tokens, purpose: "glance", caller: svc),
                    [.value(sample.masked, .masked)],
                    "\(sample) \(mode) masked:"
                )
                // The mask the vault reveals is the kind's mask of the normalized value.
                expectSame(Mask.mask(sample.normalized, kind: sample.kind), sample.masked, "\(sample) mask")
            }
        }
    }

    /// The token's shape for its kind and mode. Every format-preserving shape is rejected by its own kind's
    /// rules, so a token can never be taken for (or tokenized again as) a real value.
    func expectShape(
        _ token: String,
        of sample: Sample,
        mode: TokenMode,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        switch mode {
        case .opaque, .deterministic:
            #expect(
                token.wholeMatch(of: /tok_[0-9A-Za-z]{22}/) != nil,
                "\(sample): \(token)",
                sourceLocation: sourceLocation
            )
        case .formatPreserving:
            switch sample.kind {
            case .card:
                let digits = sample.normalized
                #expect(
                    token.count == digits.count && token.allSatisfy { ("0"..."9").contains($0) },
                    sourceLocation: sourceLocation
                )
                expectSame(token.suffix(4), digits.suffix(4), "last four kept", sourceLocation: sourceLocation)
                #expect(token.first != "0", sourceLocation: sourceLocation)
                #expect(!isLuhnValid(token), "a card token must fail Luhn", sourceLocation: sourceLocation)
                let differs = token != digits
                #expect(differs, "the token is not the card", sourceLocation: sourceLocation)
            case .ssn:
                #expect(
                    token.wholeMatch(of: /9[0-9]{2}-[0-9]{2}-[0-9]{4}/) != nil,
                    "\(token)",
                    sourceLocation: sourceLocation
                )
            case .phone:
                let digitCount = sample.normalized.count - 1
                #expect(token.wholeMatch(of: /\+999[0-9]+/) != nil, "\(token)", sourceLocation: sourceLocation)
                #expect(token.count - 1 == digitCount, "same digit count", sourceLocation: sourceLocation)
            case .email:
                #expect(
                    token.wholeMatch(of: /[a-z2-7]{26}@token\.invalid/) != nil,
                    "\(token)",
                    sourceLocation: sourceLocation
                )
            case .name, .address, .date, .text:
                Issue.record("\(sample.kind) has no format-preserving tokens", sourceLocation: sourceLocation)
            }
            #expect(
                throws: VaultError.self,
                "\(sample): its token passes its own kind's rules",
                sourceLocation: sourceLocation
            ) {
                try sample.kind.normalize(token, index: 0)
            }
        }
    }

    @Test func formatPreservingCardsOfEveryLengthKeepLastFourAndFailLuhn() async throws {
        try await withVault(serviceYAML(mode: .formatPreserving)) { t in
            let svc = try t.caller(UID.service)
            let cards = (12...19).map { luhnCard(prefix: "53", length: $0) }
            let tokens = try await t.tokenize(.card, cards, subject: "cust-1", as: svc)
            try #require(tokens.count == cards.count)
            for (card, token) in zip(cards, tokens) {
                #expect(
                    token.count == card.count && token.allSatisfy { ("0"..."9").contains($0) } && token.first != "0"
                )
                expectSame(token.suffix(4), card.suffix(4), "last four kept, length \(card.count)")
                #expect(!isLuhnValid(token), "length \(card.count)")
            }
            expectItems(
                try await t.vault.detokenize(tokens, purpose: "view", caller: svc),
                cards.map { .value($0, .plain) }
            )
        }
    }

    @Test(arguments: [TokenMode.opaque, .formatPreserving])
    func randomModesGiveANewTokenEveryCall(mode: TokenMode) async throws {
        try await withVault(serviceYAML(mode: mode)) { t in
            let svc = try t.caller(UID.service)
            for sample in Sample.all where sample.kind.supports(mode) {
                var seen: Set<String> = []
                for _ in 0..<3 {
                    let request = TokenizeRequest(
                        kind: sample.kind,
                        subject: "cust-1",
                        values: [sample.raw, sample.raw]
                    )
                    seen.formUnion(try await t.vault.tokenize(request, caller: svc))
                }
                #expect(seen.count == 6, "\(sample) \(mode): six calls' tokens are all different")
            }
            // Each is its own row.
            let rows = Sample.all.filter { $0.kind.supports(mode) }.count * 6
            #expect(try await t.stats().tokens == rows)
        }
    }

    @Test func deterministicTokensFollowValueKindAndScope() async throws {
        try await withVault(serviceYAML(mode: .deterministic)) { t in
            let svc = try t.caller(UID.service)
            func token(
                _ kind: Kind,
                _ value: String,
                subject: Subject = "cust-1",
                scope: Scope = .default
            ) async throws -> String {
                try await t.vault.tokenize(
                    TokenizeRequest(kind: kind, subject: subject, values: [value], scope: scope),
                    caller: svc
                )[0]
            }
            for sample in Sample.all {
                let first = try await token(sample.kind, sample.raw)
                // Same value (raw or already normalized), kind and scope: the same token.
                expectSame(try await token(sample.kind, sample.raw), first, "\(sample): same value, same token")
                expectSame(
                    try await token(sample.kind, sample.normalized),
                    first,
                    "\(sample): normalized value, same token"
                )
                // Another scope: another token, which reveals the same value.
                let other = try await token(sample.kind, sample.raw, scope: "analytics")
                #expect(other != first, "\(sample)")
                expectItems(
                    try await t.vault.detokenize([first, other], purpose: "view", caller: svc),
                    [.value(sample.normalized, .plain), .value(sample.normalized, .plain)],
                    "\(sample)"
                )
            }
            // The same string as two kinds: unrelated tokens.
            #expect(try await token(.date, "1987-03-14") != (try await token(.text, "1987-03-14")))
            // One row per (token, subject): repeats added none.
            #expect(try await t.stats().tokens == Sample.all.count * 2 + 1)
        }
    }

    @Test func deterministicTokenSharedBySubjectsSurvivesEraseOfOne() async throws {
        try await withVault(serviceYAML(mode: .deterministic)) { t in
            let svc = try t.caller(UID.service)
            for sample in Sample.all {
                let a = try await t.tokenize(sample.kind, [sample.raw], subject: "cust-a", as: svc)
                let b = try await t.tokenize(sample.kind, [sample.raw], subject: "cust-b", as: svc)
                #expect(a == b, "\(sample): a second subject gets the same token")
            }
            // Each subject has its own row under its own data key.
            #expect(try await t.stats() == Counts(subjects: 2, tokens: Sample.all.count * 2))

            #expect(try await t.vault.erase(subject: "cust-a", caller: svc).erased == Sample.all.count)
            #expect(try await t.stats() == Counts(subjects: 1, tokens: Sample.all.count))
            for sample in Sample.all {
                let token = try await t.tokenize(sample.kind, [sample.raw], subject: "cust-b", as: svc)
                expectItems(
                    try await t.vault.detokenize(token, purpose: "view", caller: svc),
                    [.value(sample.normalized, .plain)],
                    "\(sample) after erasing the other subject:"
                )
            }
            #expect(try await t.vault.erase(subject: "cust-b", caller: svc).erased == Sample.all.count)
            let last = try await t.tokenize(.email, [Sample.of(.email).raw], subject: "cust-c", as: svc)
            #expect(try await t.vault.erase(subject: "cust-c", caller: svc).erased == 1)
            expectItems(try await t.vault.detokenize(last, purpose: "view", caller: svc), [.error(.notFound)])
        }
    }
}
