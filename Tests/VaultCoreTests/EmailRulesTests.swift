import Testing

@testable import VaultCore

@Suite struct EmailRulesTests {
    @Test(arguments: [
        ("  Alice.Smith+tag@Example.COM ", "Alice.Smith+tag@example.com"),
        ("a@b.co", "a@b.co"),
        ("o'reilly@mail.example.org", "o'reilly@mail.example.org"),
        ("user_name-1@sub-domain.example.io", "user_name-1@sub-domain.example.io"),
        ("MixedCase@xn--bcher-kva.Example", "MixedCase@xn--bcher-kva.example"),
        ("!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com"),
        ("1234@123.example.com", "1234@123.example.com"),
        (String(repeating: "a", count: 64) + "@example.com", String(repeating: "a", count: 64) + "@example.com"),
    ])
    func accepts(value: String, normalized: String) {
        ValueCheck.expectNormalized(.email, value, normalized)
    }

    static let label63 = String(repeating: "b", count: 63)

    @Test(arguments: [
        ("alice.example.com", "has no '@'"),
        ("a@b@example.com", "more than one '@'"),
        ("\"a b\"@example.com", "character not allowed in a local part"),
        ("@example.com", "nothing before the '@'"),
        ("alice@", "nothing after the '@'"),
        (".alice@example.com", "starts or ends with a dot"),
        ("alice.@example.com", "starts or ends with a dot"),
        ("al..ice@example.com", "two dots in a row"),
        ("al ice@example.com", "character not allowed in a local part"),
        ("al(ice@example.com", "character not allowed in a local part"),
        ("ålice@example.com", "non-ASCII character in its local part"),
        (String(repeating: "a", count: 65) + "@example.com", "local part of 65 characters; the limit is 64"),
        ("alice@localhost", "domain of one label"),
        ("alice@example.c", "top-level domain that is not at least 2 letters"),
        ("alice@example.c0m", "top-level domain that is not at least 2 letters"),
        ("alice@example.123", "top-level domain that is not at least 2 letters"),
        ("alice@-example.com", "starts or ends with a hyphen"),
        ("alice@example-.com", "starts or ends with a hyphen"),
        ("alice@exa_mple.com", "domain character other than letters"),
        ("alice@example..com", "empty domain label"),
        ("alice@example.com.", "empty domain label"),
        ("alice@.example.com", "empty domain label"),
        ("alice@exämple.com", "non-ASCII domain"),
        ("alice@" + String(repeating: "b", count: 64) + ".com", "label longer than 63"),
        (
            String(repeating: "a", count: 64) + "@" + label63 + "." + label63 + "." + label63 + ".com",
            "is 260 characters long; addresses are at most 254"
        ),
        ("alice@token.invalid", "reserved never to receive mail"),
        ("alice@Example.INVALID", "reserved never to receive mail"),
        (" \t ", "is blank"),
    ])
    func rejects(value: String, reason: String) {
        ValueCheck.expectRejected(.email, value, reason: reason)
    }
}
