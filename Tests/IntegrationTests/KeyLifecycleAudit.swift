import Foundation
import Testing

/// The end state: every one of the 100,000 tokens still gives its value back, every key operation of the
/// suite is in the audit log, and the log verifies.
extension KeyLifecycleTests {
    func everyTokenDetokenizes(_ vault: LargeVault) async throws {
        let wrong = try await vault.wrongValues(at: Array(vault.tokens.indices), connections: 4)
        #expect(wrong == 0, "\(wrong) of \(vault.tokens.count) tokens no longer give their value back")
    }

    func keyOperationsAreAudited(_ vault: LargeVault) async throws {
        let recorded = vault.recorded
        // The whole log once (each export decodes every record, and the log holds one per request), then
        // the --event filter once, which must give exactly the key_rotate records of the whole export.
        let all = try await vault.cvault("audit", "export")
        #expect(all.status == 0, "audit export failed: \(all.errorLines)")
        let records = try all.lines.map { line -> [String: Any] in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(records.count > 10_000)
        let filtered = try await vault.cvault("audit", "export", "--event", "key_rotate")
        #expect(filtered.status == 0)
        #expect(filtered.lines == all.lines.filter { $0.contains(#""event":"key_rotate""#) })

        // Every event this suite caused, with the outcomes it saw. The log may hold more of two kinds: a
        // rewrap or a passphrase change killed just after writing its record.
        for event in ["key_rotate", "key_rewrap", "key_retire", "key_rotate_token", "key_passphrase"] {
            let mine = records.filter { $0["event"] as? String == event }
            for outcome in ["ok", "refused"] {
                let expected = recorded["\(event) \(outcome)"] ?? 0
                let found = mine.filter { $0["outcome"] as? String == outcome }.count
                if event == "key_passphrase" || event == "key_rewrap" {
                    #expect(found >= expected, "\(event) \(outcome): \(found) records, \(expected) seen")
                } else {
                    #expect(found == expected, "\(event) \(outcome): \(found) records, \(expected) seen")
                }
            }
            // Key commands name who ran them (rewrap's records come from the vault and carry no uid).
            if event != "key_rewrap" {
                #expect(
                    mine.allSatisfy { ($0["uid"] as? Int).map(UInt32.init) == getuid() },
                    "\(event) records name the admin's uid"
                )
            }
        }
        #expect((recorded["key_rotate ok"] ?? 0) >= 1 && (recorded["key_retire refused"] ?? 0) >= 1)
        // Each completed rewrap wrote a `started` record first.
        let started = records.filter { $0["event"] as? String == "key_rewrap" && $0["outcome"] as? String == "started" }
            .count
        #expect(started >= (recorded["key_rewrap ok"] ?? 0))
        // Nothing but public facts: no passphrase, no value.
        // (Compared out of sight of #expect, which would print both sides on failure.)
        let secrets = [
            vault.currentPassphrase, vault.fixture.passphrase,
            "\(vault.salt) value", "\(vault.salt) live", "det-\(vault.salt)@example.com",
        ]
        let leaked = secrets.indices.filter { all.stdout.contains(secrets[$0]) }
        #expect(leaked.isEmpty, "secrets (by index) in the audit export: \(leaked)")

        let verify = try await vault.cvault("audit", "verify")
        #expect(verify.status == 0, "audit verify failed: \(verify.errorLines)")
        #expect(verify.lines.first?.hasPrefix("audit log intact: ") == true)
    }
}
