import Foundation
import Testing

@testable import VaultCore

/// The request values' rules (`Subject`, `Purpose`, `Scope`, `IdempotencyKey`), each checked only by its
/// type's initializer: what they accept, what they refuse, and that a refusal names its field and the rule but
/// never the text that broke it.
@Suite struct RequestValueTypesTests {
    /// A refusal: `.invalidRequest`, the field, and a one-line message.
    func expectRefused<T>(
        _ text: String,
        field: VaultError.Field,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ make: (String) throws(VaultError) -> T
    ) {
        do {
            _ = try make(text)
            Issue.record("\(text.utf8.count) bytes accepted as \(field)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == .invalidRequest, sourceLocation: sourceLocation)
            #expect(error.field == field, sourceLocation: sourceLocation)
            #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: ["c", "cust-42", "CUST.42:a_b-c", String(repeating: "c", count: Subject.maxBytes)])
    func subjectsAccepted(_ text: String) throws {
        #expect(try Subject(text).name == text)
    }

    @Test(arguments: [
        "", "cust 42", "cust/42", "zephyrine@example.com", String(repeating: "c", count: 129), "cüst-42", "cust\n42",
        "cust\u{0}42",
    ])
    func subjectsRefused(_ text: String) {
        expectRefused(text, field: .subject) { (t) throws(VaultError) in try Subject(t) }
    }

    @Test(arguments: ["a", "charge", "fraud-review", "0-9", String(repeating: "p", count: 64)])
    func purposesAccepted(_ text: String) throws {
        #expect(try Purpose(text).name == text)
    }

    @Test(arguments: [
        "", "Charge", "charge ", "fraud_review", "charge\n", "view it", "view\u{0}", "vïew", "charge,refund",
        String(repeating: "a", count: 65),
    ])
    func purposesRefused(_ text: String) {
        expectRefused(text, field: .purpose) { (t) throws(VaultError) in try Purpose(t) }
    }

    /// A scope follows the purpose rule exactly (docs/PROTOCOL.md §6 gives them one format), on every path.
    @Test(arguments: [
        "default", "crm", "tenant-a", String(repeating: "s", count: 64), "", "Tenant-A", "tenant a", "tenant.a",
        "tenant\u{0}a", String(repeating: "s", count: 65), String(repeating: "s", count: 128),
    ])
    func scopesFollowThePurposeRule(_ text: String) {
        let asPurpose = (try? Purpose(text)) != nil
        #expect(((try? Scope(text)) != nil) == asPurpose)
        if !asPurpose { expectRefused(text, field: .scope) { (t) throws(VaultError) in try Scope(t) } }
    }

    @Test func theDefaultScopeIsNamedDefault() {
        #expect(Scope.default.name == "default")
        #expect(TokenizeRequest(kind: .text, subject: "s", values: ["x"]).scope == .default)
    }

    @Test(arguments: ["k", "order-1", "~!#$%&'()*+,./:;<=>?@[]^_`{|}", String(repeating: "k", count: 128)])
    func idempotencyKeysAccepted(_ text: String) throws {
        #expect(try IdempotencyKey(text).text == text)
    }

    @Test(arguments: ["", "order 1", "order\t1", "ördér", String(repeating: "k", count: 129), "key\u{7F}"])
    func idempotencyKeysRefused(_ text: String) {
        expectRefused(text, field: .idempotencyKey) { (t) throws(VaultError) in try IdempotencyKey(t) }
    }

    /// No refusal quotes what it refused.
    @Test func refusalsNeverEchoTheInput() {
        let text = "MARKER value!"
        var messages: [String] = []
        do { _ = try Subject(text) } catch { messages.append(error.description) }
        do { _ = try Purpose(text) } catch { messages.append(error.description) }
        do { _ = try Scope(text) } catch { messages.append(error.description) }
        do { _ = try IdempotencyKey(text) } catch { messages.append(error.description) }
        #expect(messages.count == 4)
        #expect(messages.allSatisfy { !$0.contains("MARKER") })
    }

    /// The policy file's purposes meet the same rule a request's do, so a rule can only name purposes a caller
    /// can ask for.
    @Test func thePolicyParserUsesThePurposeRule() {
        let yaml = """
            identities: [{name: svc, uid: 1000, roles: [r]}]
            roles:
              r:
                detokenize:
                  - {kinds: [email], purposes: [Charge], reveal: plain}
            """
        #expect(throws: VaultError.self) { try Policy.parse(yaml: yaml) }
        #expect((try? Policy.parse(yaml: yaml.replacingOccurrences(of: "Charge", with: "charge"))) != nil)
    }
}
