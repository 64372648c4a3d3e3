import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore
@testable import VaultSQLite

/// A thief with a copy of the database and no keyring must find nothing that a guessed value could be tested
/// against. Two vaults with different keys are fed exactly the same requests at the same instants: any bytes
/// they store alike (outside the public fields) are a function of the requests alone, which is to say an
/// unkeyed digest or copy of something a caller sent. This is what `idempotency.request_hash` (an unkeyed
/// BLAKE2b of the values, before schema 3) was.
@Suite struct VaultTwoKeysDifferentialTests {
    /// Blob columns that are public by design: the audit chain hashes public bodies (docs/AUDIT.md), and a
    /// seal names the head it signs.
    static let publicBlobs: Set<String> = ["audit.prev", "audit.hash", "audit_seals.hash"]

    /// The same requests, in the same order, for every kind: with an idempotency key (and its replay), with
    /// limits where the mode allows them, for two subjects, a detokenize, and an erase of one subject.
    static func feed(_ t: TestVault, mode: TokenMode) async throws {
        let svc = try t.caller(UID.service)
        var tokens: [String] = []
        for sample in Sample.all {
            let limits =
                mode == .deterministic
                ? TokenLimits.none
                : TokenLimits(purposes: ["view", "charge"], expiresAt: t.clock.now + 3_600, maxReveals: 3)
            for subject in ["cust-keep", "cust-gone"] as [Subject] {
                let request = TokenizeRequest(
                    kind: sample.kind,
                    subject: subject,
                    values: [sample.raw],
                    limits: limits,
                    idempotencyKey: try IdempotencyKey("key-\(sample.kind.rawValue)-\(subject)")
                )
                let made = try await t.vault.tokenize(request, caller: svc)
                #expect(
                    try await t.vault.tokenize(request, caller: svc) == made,
                    "\(sample): the replay answers the same"
                )
                tokens += made
            }
        }
        _ = try await t.vault.detokenize(tokens, purpose: "view", caller: svc)
        #expect(try await t.vault.erase(subject: "cust-gone", caller: svc).erased == Sample.all.count)
        try await t.vault.sealAudit()
    }

    /// Every blob in the database by `table.column`, read with SQLite itself (the store is closed).
    static func blobs(_ path: String) throws -> [(column: String, bytes: [UInt8])] {
        let db = try SQLiteConnection(path: path)
        defer { db.close() }
        let tables = try db.query("SELECT name FROM sqlite_schema WHERE type = 'table'", what: "test") { $0.text(0) }
        var found: [(String, [UInt8])] = []
        for table in tables {
            let columns = try db.query("SELECT name FROM pragma_table_info(?)", [.text(table)], what: "test") {
                $0.text(0)
            }
            for column in columns {
                let values = try db.query(
                    "SELECT \"\(column)\" FROM \"\(table)\" WHERE typeof(\"\(column)\") = 'blob'",
                    what: "test"
                ) { $0.blob(0) }
                found += values.map { ("\(table).\(column)", $0) }
            }
        }
        return found
    }

    /// Every text in the database (names, kinds, modes, purposes, audit bodies, the schema's own SQL) and the
    /// public blobs: all public, and masked out of the files before they are compared.
    static func publicStrings(_ path: String) throws -> [[UInt8]] {
        let db = try SQLiteConnection(path: path)
        defer { db.close() }
        var found: [[UInt8]] = [Array("SQLite format 3".utf8)]
        let tables = try db.query("SELECT name FROM sqlite_schema WHERE type = 'table'", what: "test") { $0.text(0) }
        for table in tables + ["sqlite_schema"] {
            let columns = try db.query("SELECT name FROM pragma_table_info(?)", [.text(table)], what: "test") {
                $0.text(0)
            }
            for column in columns {
                found += try db.query(
                    "SELECT \"\(column)\" FROM \"\(table)\" WHERE typeof(\"\(column)\") = 'text'",
                    what: "test"
                ) { Array($0.text(0).utf8) }
                if publicBlobs.contains("\(table).\(column)") {
                    found += try db.query("SELECT \"\(column)\" FROM \"\(table)\"", what: "test") { $0.blob(0) }
                }
            }
        }
        return found.filter { !$0.isEmpty }
    }

    /// The file with every occurrence of every public string overwritten with zeros. Strings under 8 bytes are
    /// left: no window of 24 distinct bytes can come from them.
    static func masked(_ file: [UInt8], _ publicStrings: [[UInt8]]) -> [UInt8] {
        var data = Data(file)
        let needles = Set(publicStrings.filter { $0.count >= 8 }).sorted { $0.count > $1.count }
        for needle in needles.map({ Data($0) }) {
            var from = data.startIndex
            while let range = data.range(of: needle, in: from..<data.endIndex) {
                data.resetBytes(in: range)
                from = range.upperBound
            }
        }
        return Array(data)
    }

    /// The file with SQLite's own structure zeroed: the 100-byte file header, and on every B-tree page its
    /// header and cell pointer array (docs: sqlite.org/fileformat2.html). The same rows of the same sizes give
    /// both vaults the same layout, so these bytes match and say nothing about any value.
    static func structureMasked(_ file: [UInt8]) -> [UInt8] {
        var bytes = file
        guard bytes.count >= 100 else { return bytes }
        let rawSize = Int(bytes[16]) << 8 | Int(bytes[17])
        let pageSize = rawSize == 1 ? 65_536 : rawSize
        for i in 0..<100 { bytes[i] = 0 }
        guard pageSize >= 512 else { return bytes }
        for pageStart in stride(from: 0, to: bytes.count, by: pageSize) {
            let header = pageStart == 0 ? 100 : pageStart
            guard header + 12 <= bytes.count else { continue }
            let headerSize: Int
            switch bytes[header] {
            case 0x02, 0x05: headerSize = 12
            case 0x0a, 0x0d: headerSize = 8
            default: continue  // overflow, freelist or zeroed page
            }
            let cells = Int(bytes[header + 3]) << 8 | Int(bytes[header + 4])
            let end = min(bytes.count, pageStart + pageSize, header + headerSize + 2 * cells)
            for i in header..<end { bytes[i] = 0 }
        }
        return bytes
    }

    /// Whether a window looks like key material, a digest or a ciphertext: 32 random bytes have about 30 distinct
    /// values (fewer than 24 with odds near 1 in 10,000). What is left of SQLite's structure once headers and
    /// cell pointers are masked never does: record headers, varints and page numbers repeat a few byte values,
    /// and the masked text is zeros.
    static func looksRandom(_ window: ArraySlice<UInt8>) -> Bool { Set(window).count >= 24 }

    @Test(arguments: TokenMode.allCases)
    func twoVaultsWithDifferentKeysStoreNoSharedBytesOutsideThePublicFields(mode: TokenMode) async throws {
        try await withVault(serviceYAML(mode: mode), on: .sqlite) { a in
            try await withVault(serviceYAML(mode: mode), on: .sqlite) { b in
                #expect(a.clock.now == b.clock.now, "both vaults see the same instants")
                try await Self.feed(a, mode: mode)
                try await Self.feed(b, mode: mode)
                await a.close()
                await b.close()

                // 1. No blob column of one vault shares a run of 8 bytes with any blob of the other.
                let blobsA = try Self.blobs(a.databasePath)
                let blobsB = try Self.blobs(b.databasePath)
                #expect(
                    blobsA.contains { $0.column == "idempotency.request_mac" },
                    "the kept idempotency records are compared"
                )
                var runs: [[UInt8]: String] = [:]
                for (column, bytes) in blobsA where !Self.publicBlobs.contains(column) && bytes.count >= 8 {
                    for start in 0...(bytes.count - 8) { runs[Array(bytes[start..<(start + 8)])] = column }
                }
                var shared: Set<String> = []
                for (column, bytes) in blobsB where !Self.publicBlobs.contains(column) && bytes.count >= 8 {
                    for start in 0...(bytes.count - 8) {
                        if let other = runs[Array(bytes[start..<(start + 8)])] { shared.insert("\(other) ~ \(column)") }
                    }
                }
                #expect(shared.isEmpty, "columns sharing 8-byte runs across vaults: \(shared.sorted())")

                // 2. The two files, public strings masked, share no random-looking 32-byte window.
                let publicStrings = try Self.publicStrings(a.databasePath) + Self.publicStrings(b.databasePath)
                let fileA = try Self.masked(
                    Self.structureMasked(Array(Data(contentsOf: URL(fileURLWithPath: a.databasePath)))),
                    publicStrings
                )
                let fileB = try Self.masked(
                    Self.structureMasked(Array(Data(contentsOf: URL(fileURLWithPath: b.databasePath)))),
                    publicStrings
                )
                var windows: Set<ArraySlice<UInt8>> = []
                for start in stride(from: 0, to: fileA.count - 31, by: 1) {
                    let window = fileA[start..<(start + 32)]
                    if Self.looksRandom(window) { windows.insert(window) }
                }
                var sharedOffsets: [Int] = []
                for start in stride(from: 0, to: fileB.count - 31, by: 1)
                where windows.contains(fileB[start..<(start + 32)]) {
                    sharedOffsets.append(start)
                }
                #expect(
                    sharedOffsets.isEmpty,
                    "\(sharedOffsets.count) shared 32-byte windows, first at offset \(sharedOffsets.first ?? -1) of \(b.databasePath)"
                )
            }
        }
    }
}
