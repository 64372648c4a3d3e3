import Testing

@testable import VaultCore

@Test func secureBytesDescriptionIsRedacted() {
    let key = SecureBytes(randomCount: 32)
    #expect(key.description == "SecureBytes(32 bytes, redacted)")
}
