import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// A retention pass on SQLite ends with one scrub: once it answers `scrubbed`, no byte of a purged row or of a
/// destroyed data key is left in the database file or its write-ahead log, while kept rows are still there.
@Suite struct VaultPurgeScrubTests {
    @Test func purgedRowsAndKeysLeaveTheFiles() async throws {
        let clock = TestClock()
        try await withVault(serviceYAML() + "\nretention: {text: 1d}\n", clock: clock, on: .sqlite) { t in
            let svc = try t.caller(UID.service)
            let purged = try await t.tokenize(
                .text,
                (0..<20).map { "purged value \($0)" },
                subject: "cust-old",
                as: svc
            )
            clock.advance(by: 86_400)
            let kept = try await t.tokenize(.text, ["kept value"], subject: "cust-new", as: svc)
            let purgedRows = try await t.rows(purged[0]) + t.rows(purged[19])
            let keptRow = try #require(try await t.rows(kept[0]).first)
            let wrappedKey = try #require(purgedRows.first?.subject.wrappedKey)
            try await t.sqliteStore().checkpoint()
            // Found or not, computed outside `#expect`, so a failure never prints the bytes.
            let stored = purgedRows.allSatisfy { fileContains(t.databasePath, $0.token.sealed) }
            #expect(purgedRows.count == 2 && stored)

            let tally = try await t.vault.purgeExpired(batch: 7)
            #expect(tally.totalTokens == 20 && tally.totalDataKeys == 1 && tally.records == 3 && tally.scrubbed)
            for path in [t.databasePath, t.databasePath + "-wal"] {
                let values = purgedRows.filter { fileContains(path, $0.token.sealed) }.count
                let key = fileContains(path, wrappedKey)
                #expect(values == 0, "purged values in \(path)")
                #expect(!key, "the destroyed data key in \(path)")
            }
            let control = fileContains(t.databasePath, keptRow.token.sealed)
            #expect(control, "the control: a kept row is still there")
        }
    }
}
