import Foundation
import Testing

/// The vault as built, and `cvault keys rotate` while clients keep calling the server.
extension KeyLifecycleTests {
    func checkTheBuiltVault(_ vault: LargeVault) async throws {
        #expect(vault.tokens.count == LargeVault.subjects * LargeVault.valuesPerSubject)
        #expect(vault.tokens.count >= 100_000)
        #expect(Set(vault.tokens).count == vault.tokens.count, "every value got its own token")
        #expect(try vault.count("SELECT count(*) FROM subjects WHERE name LIKE 'cust-%'") == LargeVault.subjects)
        #expect(
            try vault.count(
                "SELECT count(*) FROM tokens t JOIN subjects s ON s.id = t.subject_id WHERE s.name LIKE 'cust-%'"
            )
                == vault.tokens.count
        )
        #expect(vault.sample.count == LargeVault.sampleSize)
        #expect(try await vault.wrongValues(at: vault.sample) == 0)
    }

    func rotateUnderLiveTraffic(_ vault: LargeVault) async throws {
        let before = try await vault.keys()
        let old = before.active
        let new = (before.keks.map(\.version).max() ?? 0) + 1
        let traffic = vault.startTraffic(tag: "rotate")
        let rotated: CVaultRun
        do {
            try await LargeVault.waitForProgress(traffic, more: 20)
            let atStart = traffic.requests
            rotated = try await vault.cvault("keys", "rotate")
            // Requests went on while the command ran, and after the server picked the new KEK up.
            #expect(traffic.requests > atStart, "no request was made while the rotation ran")
            try await vault.server.waitForActiveKEK(new)
            try await LargeVault.waitForProgress(traffic, more: 20)
            try await traffic.stop()
        } catch {
            try? await traffic.stop()
            throw error
        }
        #expect(rotated.status == 0, "keys rotate failed: \(rotated.errorLines)")
        if rotated.status == 0 { vault.record("key_rotate") }
        expectLines(
            rotated,
            [
                "KEK v\(new) is active; older versions are decrypt-only. Run `cvault keys rewrap` to move data keys to it."
            ],
            "keys rotate"
        )
        #expect(traffic.failures == 0, "failed requests during the rotation: \(traffic.firstProblems)")
        #expect(traffic.requests > 40)

        let after = try await vault.keys()
        #expect(after.active == new)
        #expect(after.state(old) == "decrypt-only")
        // Existing data keys stay where they were until rewrap moves them.
        #expect(after.dataKeys(old) >= before.dataKeys(old))
        #expect(after.dataKeys(old) >= LargeVault.subjects)

        // New subjects from now on are wrapped by the new KEK, and only by it.
        let socket = vault.socket
        let salt = vault.salt
        try await onThread {
            let connection = try RPCConnection(socket: socket)
            for n in 0..<5 {
                _ = try connection.tokenize(
                    kind: "text",
                    subject: "after-rotate-\(salt)-\(n)",
                    values: ["\(salt) after \(n)"]
                )
            }
        }
        let later = try await vault.keys()
        #expect(later.dataKeys(new) == after.dataKeys(new) + 5)
        #expect(later.dataKeys(old) == after.dataKeys(old))
        #expect(
            try vault.count("SELECT count(*) FROM subjects WHERE name LIKE 'after-rotate-%' AND kek_version = \(new)")
                == 5
        )
    }
}
