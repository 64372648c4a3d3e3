import Foundation
import Testing

/// `cvault keys rewrap --batch 200` killed with SIGKILL at random points while clients keep calling, then run
/// to completion: nothing lost, nothing doubled, every row still authenticates.
extension KeyLifecycleTests {
    static let rewrapKills = 3

    func rewrapKilledThenCompleted(_ vault: LargeVault) async throws {
        var listing = try await vault.keys()
        if listing.dataKeysUnderOlderVersions == 0 {
            // Run alone: make something to rewrap first.
            let run = try await vault.cvault("keys", "rotate")
            try #require(run.status == 0, "keys rotate failed: \(run.errorLines)")
            vault.record("key_rotate")
            try await vault.server.waitForActiveKEK(listing.active + 1)
            listing = try await vault.keys()
        }
        let active = listing.active
        let subjectsBefore = try vault.count("SELECT count(*) FROM subjects")
        #expect(listing.dataKeysUnderOlderVersions >= LargeVault.subjects)

        let traffic = vault.startTraffic(tag: "rewrap")
        var killedMidway = 0
        do {
            try await LargeVault.waitForProgress(traffic, more: 10)
            for attempt in 0..<Self.rewrapKills {
                let remaining = try vault.count("SELECT count(*) FROM subjects WHERE kek_version <> \(active)")
                guard remaining > 0 else { break }
                // Kill once a random number of keys (up to half of what is left) has moved.
                let target = Int.random(in: 1...max(1, remaining / 2))
                let rewrap = try vault.background(["keys", "rewrap", "--batch", "200"])
                let moved = try await Self.watch(vault, until: target, from: remaining, active: active, process: rewrap)
                let (killed, status) = await rewrap.kill9()
                if killed {
                    let after = try vault.count("SELECT count(*) FROM subjects WHERE kek_version <> \(active)")
                    if after > 0 && after < remaining { killedMidway += 1 }
                    #expect(moved >= 0)
                } else {
                    #expect(
                        status == 0,
                        "attempt \(attempt): rewrap exited with \(status.map(String.init) ?? "no status"): \(rewrap.errorLines)"
                    )
                    if status == 0 { vault.record("key_rewrap") }
                }
                // After every kill: each subject has exactly one wrapped key, under a version the keyring holds.
                let versions = try await vault.keys().keks.filter { $0.state != "retired" }.map(\.version)
                let stray = try vault.count(
                    "SELECT count(*) FROM subjects WHERE kek_version NOT IN (\(versions.map(String.init).joined(separator: ",")))"
                )
                #expect(stray == 0, "\(stray) data keys sit under a version the keyring lacks")
                #expect(try await vault.wrongValues(at: Array(vault.sample.prefix(300))) == 0, "after kill \(attempt)")
            }
            #expect(killedMidway >= 1, "no kill landed in the middle of a rewrap")

            // Now to completion, with the traffic still going.
            let remaining = try vault.count("SELECT count(*) FROM subjects WHERE kek_version <> \(active)")
            let finished = try await vault.cvault("keys", "rewrap", "--batch", "200")
            #expect(finished.status == 0, "keys rewrap failed: \(finished.errorLines)")
            if finished.status == 0 { vault.record("key_rewrap") }
            expectLines(finished, ["rewrapped \(remaining) data key(s) to KEK v\(active)"], "keys rewrap")
            try await LargeVault.waitForProgress(traffic, more: 10)
            try await traffic.stop()
        } catch {
            try? await traffic.stop()
            throw error
        }
        #expect(traffic.failures == 0, "failed requests during the rewraps: \(traffic.firstProblems)")

        let after = try await vault.keys()
        #expect(after.active == active)
        #expect(
            after.dataKeysUnderOlderVersions == 0,
            "data keys left under older KEKs: \(after.keks.map { "v\($0.version) \($0.dataKeys)" })"
        )
        let subjects = try vault.count("SELECT count(*) FROM subjects")
        #expect(after.dataKeys(active) == subjects)
        #expect(subjects >= subjectsBefore)
        #expect(try await vault.wrongValues(at: vault.sample, connections: 2) == 0)

        // verify opens every wrapped key and authenticates every row.
        let tokens = try vault.count("SELECT count(*) FROM tokens")
        let verified = try await vault.cvault("verify")
        #expect(verified.status == 0, "verify failed: \(verified.errorLines)")
        #expect(
            verified.lines.first?.hasPrefix(
                "verified: \(tokens) tokens of \(subjects) subjects authenticate; audit log intact ("
            ) == true
        )
    }

    /// Polls the database until `target` keys moved (or the process ended); returns how many had moved.
    private static func watch(
        _ vault: LargeVault,
        until target: Int,
        from remaining: Int,
        active: Int,
        process: BackgroundCVault
    ) async throws -> Int {
        try await onThread {
            let deadline = ContinuousClock.now + .seconds(120)
            while process.isRunning && ContinuousClock.now < deadline {
                let moved =
                    remaining - (try vault.count("SELECT count(*) FROM subjects WHERE kek_version <> \(active)"))
                if moved >= target { return moved }
                Thread.sleep(forTimeInterval: 0.002)
            }
            return -1
        }
    }
}
