import Foundation
import Testing

@Suite("no plaintext on disk after CLI use")
struct NoPlaintextOnDiskTests {
    /// Distinctive values of every kind, with their normalized forms where they differ.
    static let values: [(kind: String, subject: String, given: String, normalized: String)] = [
        ("email", "cust-scan-1", "Zelda.Quixote@Example.NET", "Zelda.Quixote@example.net"),
        ("phone", "cust-scan-1", "+44 20 7946 0321", "+442079460321"),
        ("card", "cust-scan-1", "5555-5555-5555-4444", "5555555555554444"),
        ("ssn", "cust-scan-2", "219-09-9999", "219-09-9999"),
        ("name", "cust-scan-2", "Xanthippe   Quillfeather", "Xanthippe Quillfeather"),
        ("address", "cust-scan-2", "742 Evergreen Terrace\nSpringfield", "742 Evergreen Terrace\nSpringfield"),
        ("date", "cust-scan-2", "1903-07-14", "1903-07-14"),
        ("text", "cust-scan-2", "prefers the blue umbrella", "prefers the blue umbrella"),
    ]

    @Test("no file under Keys/ or data/ holds a tokenized value, a format-preserving token or the passphrase")
    func scanVaultFiles() async throws {
        try await VaultFixture.with { vault in
            var tokens: [String] = []
            for value in Self.values {
                tokens += try await vault.tokenize(value.kind, subject: value.subject, [value.given])
            }
            let reveal = try await vault.cvault(["detokenize", "--purpose", "demo"] + tokens)
            #expect(reveal.errorLines == ["cvault: error: token 3: denied"], "every kind but ssn revealed")
            let erase = try await vault.cvault("erase", "--subject", "cust-scan-1")
            #expect(erase.stdout == "3\n")

            // The scanner finds what is there: a control file holding a value.
            let control = vault.root + "/control"
            try FileManager.default.createDirectory(atPath: control, withIntermediateDirectories: false)
            try writePrivateFile(control + "/file", "x" + Self.values[4].normalized + "x")
            #expect(filesContaining(Data(Self.values[4].normalized.utf8), under: control) == ["file"])

            let scanned =
                (FileManager.default.subpaths(atPath: vault.keys) ?? []).count
                + (FileManager.default.subpaths(atPath: vault.data) ?? []).count
            #expect(scanned >= 2, "the keyring and the database were scanned")
            // Opaque tokens are not looked for: the audit log records them as themselves by design (they say
            // nothing about a value; docs/AUDIT.md). A format-preserving card token keeps the last four digits,
            // so it must appear nowhere, the audit log included.
            let cardToken = tokens[2]
            #expect(!cardToken.hasPrefix("tok_"), "the policy makes card tokens format-preserving")
            let needles =
                Array(Set(Self.values.flatMap { [$0.given, $0.normalized] })) + [cardToken, vault.passphrase]
            for (index, needle) in needles.enumerated() {
                for folder in [vault.keys, vault.data] {
                    let found = filesContaining(Data(needle.utf8), under: folder)
                    #expect(found.isEmpty, "needle \(index) of \(needles.count) found in \(found) under \(folder)")
                }
            }
        }
    }
}
