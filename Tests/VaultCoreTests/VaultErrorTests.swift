import Testing

@testable import VaultCore

/// Each factory makes a whole error: the details it carries come together, and those it does not are absent.
struct VaultErrorTests {
    @Test func tooLargeCarriesItsLimitAndField() {
        let error = VaultError.tooLarge(count: 5, limit: 3, field: .tokens, identity: "svc")
        #expect(error.code == .tooLarge && error.limit == 3 && error.field == .tokens)
        #expect(error.message == "5 tokens in one call; the limit for svc is 3")
        #expect(error.index == nil && error.retryAfterMilliseconds == nil && error.reason == nil)
        #expect(
            VaultError.tooLarge(count: 2, limit: 1, field: .values, identity: "a").message
                == "2 values in one call; the limit for a is 1"
        )
    }

    @Test func rateLimitedCarriesWhenToRetry() {
        let error = VaultError.rateLimited(
            "over",
            hint: "later",
            field: .revealsPerMinute,
            limit: 10,
            retryAfterMilliseconds: 600
        )
        #expect(error.code == .rateLimited && error.field == .revealsPerMinute)
        #expect(error.limit == 10 && error.retryAfterMilliseconds == 600)
    }

    @Test func invalidValueCarriesKindPositionAndRule() {
        let error = VaultError.invalidValue(.card, index: 2, "fails the Luhn check")
        #expect(error.code == .invalidValue && error.kind == .card && error.index == 2)
        #expect(error.reason == "fails the Luhn check" && error.field == nil)
        #expect(error.message == "card value at index 2: fails the Luhn check")
    }

    @Test func invalidRequestNamesItsFieldOrNone() {
        let error = VaultError.invalidRequest("bad", hint: "fix", field: .limitsPurposes, index: 1)
        #expect(error.code == .invalidRequest && error.field == .limitsPurposes && error.index == 1)
        let whole = VaultError.invalidRequest("bad", field: nil, index: 1)
        #expect(whole.field == nil && whole.index == nil, "a position without a field says nothing")
        #expect(VaultError(.invalidRequest, "bad") == whole)
    }

    @Test func onlyAnUnfinishedEraseIsNotScrubbed() {
        let error = Vault.notScrubbed(subject: "cust-1", tokens: 3)
        #expect(error.code == .storage && error.isNotScrubbed)
        #expect(!VaultError(.storage, "disk full").isNotScrubbed)
    }

    @Test func aRequiredCountIsItsLimit() {
        let error = VaultError.tooFew(.wrongPassphrase, "1 share", hint: "give 3", field: .unsealShares, required: 3)
        #expect(error.code == .wrongPassphrase && error.field == .unsealShares && error.limit == 3)
    }
}
