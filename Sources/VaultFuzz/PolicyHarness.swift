import VaultCore

/// A policy file's text through the parser and checker that `cvault policy check`, `serve` and every reload
/// use. Bytes that are not UTF-8 are decoded with replacement characters, as a file read as text would be.
enum PolicyHarness {
    static func run(_ bytes: [UInt8]) {
        let yaml = String(decoding: bytes, as: UTF8.self)
        _ = Policy.check(yaml: yaml, file: "fuzz.yaml")
        if let policy = try? Policy.parse(yaml: yaml, file: "fuzz.yaml") {
            // What the gate asks of a loaded policy: identities by uid, and each identity's limits.
            for uid: UInt32 in [0, 1, 1000, 1001, UInt32.max] {
                if let identity = policy.identity(uid: uid) { _ = policy.limits(for: identity) }
            }
        }
    }
}
