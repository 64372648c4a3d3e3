import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore
@testable import VaultSQLite

/// The audit chain and its verifier against a real database file tampered with by `sqlite3`, as an attacker
/// with write access to the file (but not the keyring) would.
@Suite struct AuditTamperTests {
    /// Builds the standard 30-record log, closes the store, and hands the test the file, the rows as
    /// written, the head a reviewer exported, and the public key.
    func withSealedLog(
        _ body: (_ path: String, _ rows: [AuditRow], _ seals: [AuditSeal], _ head: AuditHead, _ publicKey: [UInt8])
            async throws -> Void
    ) async throws {
        try await withTemporaryFolder { folder in
            let fixture = try await AuditVault.thirtyRecords(in: folder)
            let rows = try await fixture.rows()
            let seals = try await fixture.seals()
            let head = try await fixture.exportHead()
            await fixture.store.close()
            // The scenario the tests below rely on.
            try #require(rows.map(\.seq) == Array(1...30))
            try #require(seals.map(\.seq) == [1, 11, 21, 30])
            try await body(fixture.databasePath, rows, seals, head, fixture.publicKey)
        }
    }

    /// `rows` re-chained from index `from` on, as an attacker without the key would rebuild the chain.
    func rechained(_ rows: [AuditRow], from: Int) -> [AuditRow] {
        var rows = rows
        for i in from..<rows.count {
            rows[i].prev = i == 0 ? AuditChain.genesis : rows[i - 1].hash
            rows[i].hash = AuditChain.hash(prev: rows[i].prev, body: rows[i].body)
        }
        return rows
    }

    func updateSQL(_ row: AuditRow) -> String {
        "UPDATE audit SET prev = \(SQL.blob(row.prev)), hash = \(SQL.blob(row.hash)), body = \(SQL.text(row.body)) WHERE seq = \(row.seq);"
    }

    /// Record 17's body with its outcome changed: a plausible edit that still parses.
    func forgedBody(_ row: AuditRow) throws -> String {
        var event = try #require(AuditEvent.decode(row.body))
        event.outcome = event.outcome == .ok ? .denied : .ok
        event.identity = "someone-else"
        return event.canonicalJSON()
    }

    @Test func intactLogVerifies() async throws {
        try await withSealedLog { path, rows, _, head, publicKey in
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.ok)
            #expect(report.problem == nil)
            #expect(report.records == 30 && report.seals == 4 && report.lastSealedSeq == 30 && report.unsealedTail == 0)
            #expect(try await verifyFile(path, publicKey: publicKey, head: head).ok)
            // Each record chains to the one before, from the genesis.
            #expect(rows[0].prev == AuditChain.genesis)
            for i in 1..<rows.count { #expect(rows[i].prev == rows[i - 1].hash) }
            // Another vault's key does not verify this log.
            let other = Ed25519.SigningKey(seed: SecureBytes(randomCount: 32)).publicKey
            let foreign = try await verifyFile(path, publicKey: other)
            #expect(foreign.problem == "the seal at record 1 has an invalid signature (forged or made by another key)")
        }
    }

    @Test func editedBodyIsNamed() async throws {
        try await withSealedLog { path, rows, _, _, publicKey in
            try tamper(path, "UPDATE audit SET body = \(SQL.text(try forgedBody(rows[16]))) WHERE seq = 17;")
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "record 17 was edited: its hash does not match its contents")
            #expect(names(report.problem, firstBad: 17))
        }
    }

    @Test func editedBodyWithTinyChangeIsNamed() async throws {
        try await withSealedLog { path, _, _, _, publicKey in
            // One byte appended (trailing whitespace): still JSON, still the same event, but not the chained bytes.
            try tamper(path, "UPDATE audit SET body = body || ' ' WHERE seq = 5;")
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "record 5 was edited: its hash does not match its contents")
        }
    }

    @Test func editedBodyWithRecomputedHashIsNamed() async throws {
        try await withSealedLog { path, rows, _, _, publicKey in
            var edited = rows[16]
            edited.body = try forgedBody(edited)
            edited.hash = AuditChain.hash(prev: edited.prev, body: edited.body)
            try tamper(path, updateSQL(edited))
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "record 18 does not chain to record 17 (inserted, reordered or edited)")
        }
    }

    @Test func editedUnsealedBodyRechainedToTheEndIsCaughtByTheNextSeal() async throws {
        try await withSealedLog { path, rows, _, _, publicKey in
            var forged = rows
            forged[16].body = try forgedBody(rows[16])
            forged = rechained(forged, from: 16)
            try tamper(path, forged[16...].map(updateSQL).joined(separator: "\n"))
            let report = try await verifyFile(path, publicKey: publicKey)
            // Records 17...20 are unsealed; the first seal after the edit (21) signed the old chain.
            #expect(report.problem == "record 21 differs from what its seal signed (edited and re-chained)")
        }
    }

    @Test func editedSealedBodyRechainedToTheEndIsNamed() async throws {
        try await withSealedLog { path, rows, _, _, publicKey in
            var forged = rows
            forged[10].body = try forgedBody(rows[10])
            forged = rechained(forged, from: 10)
            try tamper(path, forged[10...].map(updateSQL).joined(separator: "\n"))
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "record 11 differs from what its seal signed (edited and re-chained)")
        }
    }

    @Test func rechainedAndResignedWithAnotherKeyIsAForgedSeal() async throws {
        try await withSealedLog { path, rows, _, _, publicKey in
            var forged = rows
            forged[16].body = try forgedBody(rows[16])
            forged = rechained(forged, from: 16)
            let attacker = Ed25519.SigningKey(seed: SecureBytes(randomCount: 32))
            var sql = forged[16...].map(updateSQL)
            for seq: Int64 in [21, 30] {
                let row = forged[Int(seq) - 1]
                let signature = attacker.sign(AuditChain.sealMessage(seq: seq, hash: row.hash))
                sql.append(
                    "UPDATE audit_seals SET hash = \(SQL.blob(row.hash)), signature = \(SQL.blob(signature)) WHERE seq = \(seq);"
                )
            }
            try tamper(path, sql.joined(separator: "\n"))
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "the seal at record 21 has an invalid signature (forged or made by another key)")
        }
    }

    @Test func deletedRecordIsMissing() async throws {
        try await withSealedLog { path, _, _, _, publicKey in
            try tamper(path, "DELETE FROM audit WHERE seq = 17;")
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "record 17 is missing (deleted)")
            #expect(names(report.problem, firstBad: 17))
        }
    }

    @Test func deletedRunOfRecordsIsMissing() async throws {
        try await withSealedLog { path, _, _, _, publicKey in
            try tamper(path, "DELETE FROM audit WHERE seq BETWEEN 12 AND 14;")
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "records 12...14 are missing (deleted)")
        }
    }

    @Test func deletedFirstRecordIsMissing() async throws {
        try await withSealedLog { path, _, _, _, publicKey in
            try tamper(path, "DELETE FROM audit WHERE seq = 1;")
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "record 1 is missing (deleted)")
        }
    }

    @Test func deletedRecordWithLaterRecordsRenumberedIsDetected() async throws {
        try await withSealedLog { path, _, _, _, publicKey in
            // Delete 17 and shift 18...30 down by one so the seq sequence has no gap.
            try tamper(
                path,
                """
                DELETE FROM audit WHERE seq = 17;
                UPDATE audit SET seq = -(seq - 1) WHERE seq > 17;
                UPDATE audit SET seq = -seq WHERE seq < 0;
                """
            )
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "record 17 does not chain to record 16 (inserted, reordered or edited)")
        }
    }

    @Test func insertedRecordIsDetected() async throws {
        try await withSealedLog { path, rows, _, _, publicKey in
            // A fabricated record put in at 17, chained correctly to 16; the old 17...30 move up by one.
            var event = try #require(AuditEvent.decode(rows[16].body))
            event.seq = 17
            event.event = .policyLoad
            event.identity = "operator"
            let body = event.canonicalJSON()
            let fake = AuditRow(
                seq: 17,
                prev: rows[15].hash,
                hash: AuditChain.hash(prev: rows[15].hash, body: body),
                body: body
            )
            try tamper(
                path,
                """
                UPDATE audit SET seq = -(seq + 1) WHERE seq >= 17;
                UPDATE audit SET seq = -seq WHERE seq < 0;
                INSERT INTO audit(seq, prev, hash, body) VALUES (17, \(SQL.blob(fake.prev)), \(SQL.blob(fake.hash)), \(SQL.text(fake.body)));
                """
            )
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "record 18 does not chain to record 17 (inserted, reordered or edited)")
        }
    }

    @Test func insertedRecordWithEverythingAfterRechainedIsDetected() async throws {
        try await withSealedLog { path, rows, _, _, publicKey in
            var event = try #require(AuditEvent.decode(rows[16].body))
            event.seq = 17
            event.identity = "operator"
            var forged = Array(rows[..<16])
            forged.append(AuditRow(seq: 17, prev: [], hash: [], body: event.canonicalJSON()))
            for row in rows[16...] {
                var moved = row
                moved.seq += 1
                var shifted = try #require(AuditEvent.decode(row.body))
                shifted.seq += 1
                moved.body = shifted.canonicalJSON()
                forged.append(moved)
            }
            forged = rechained(forged, from: 16)
            var sql = ["DELETE FROM audit WHERE seq >= 17;"]
            for row in forged[16...] {
                sql.append(
                    "INSERT INTO audit(seq, prev, hash, body) VALUES (\(row.seq), \(SQL.blob(row.prev)), \(SQL.blob(row.hash)), \(SQL.text(row.body)));"
                )
            }
            try tamper(path, sql.joined(separator: "\n"))
            let report = try await verifyFile(path, publicKey: publicKey)
            // The chain is consistent again; the seal over record 21 is what exposes it.
            #expect(report.problem == "record 21 differs from what its seal signed (edited and re-chained)")
        }
    }

    @Test func swappedBodiesAreDetected() async throws {
        try await withSealedLog { path, rows, _, _, publicKey in
            try tamper(
                path,
                """
                UPDATE audit SET body = \(SQL.text(rows[17].body)) WHERE seq = 17;
                UPDATE audit SET body = \(SQL.text(rows[16].body)) WHERE seq = 18;
                """
            )
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "record 17 was edited: its hash does not match its contents")
        }
    }

    @Test func swappedWholeRowsAreDetected() async throws {
        try await withSealedLog { path, rows, _, _, publicKey in
            var a = rows[17]
            var b = rows[16]
            a.seq = 17
            b.seq = 18
            try tamper(path, updateSQL(a) + "\n" + updateSQL(b))
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "record 17 does not chain to record 16 (inserted, reordered or edited)")
        }
    }

    @Test func swappedBodiesRechainedAreDetected() async throws {
        try await withSealedLog { path, rows, _, _, publicKey in
            var forged = rows
            forged[16].body = rows[17].body
            forged[17].body = rows[16].body
            forged = rechained(forged, from: 16)
            try tamper(path, forged[16...].map(updateSQL).joined(separator: "\n"))
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "record 17 holds the body of another record (reordered or moved)")
        }
    }

    @Test func cutTailIsDetectedAgainstTheLastSeal() async throws {
        try await withSealedLog { path, _, _, _, publicKey in
            try tamper(path, "DELETE FROM audit WHERE seq > 25;")
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(
                report.problem == "the log ends at record 25 but a seal covers record 30: records 26...30 were cut off"
            )
            #expect(report.records == 25)
        }
    }

    @Test func cutTailAndItsSealsNeedsAnExportedHead() async throws {
        try await withSealedLog { path, _, _, head, publicKey in
            try tamper(path, "DELETE FROM audit WHERE seq > 21; DELETE FROM audit_seals WHERE seq > 21;")
            // Without a head the shortened log is indistinguishable from an intact one: that is what heads are for.
            let alone = try await verifyFile(path, publicKey: publicKey)
            #expect(alone.ok)
            #expect(alone.records == 21 && alone.lastSealedSeq == 21)
            // With the head a reviewer exported before the cut, it is detected and the cut range named.
            #expect(head.seq == 30)
            let withHead = try await verifyFile(path, publicKey: publicKey, head: head)
            #expect(
                withHead.problem
                    == "the log ends at record 21 but the exported head is record 30: records 22...30 were cut off"
            )
        }
    }

    @Test func cutTailRefilledWithForgedRecordsFailsAgainstTheHead() async throws {
        try await withSealedLog { path, rows, _, head, publicKey in
            // Cut to 21 with its seals, then write nine new records 22...30 chained properly (no key needed).
            var forged = rows
            for i in 21..<30 {
                var event = try #require(AuditEvent.decode(rows[i].body))
                event.identity = "nobody"
                forged[i].body = event.canonicalJSON()
            }
            forged = rechained(forged, from: 21)
            var sql = ["DELETE FROM audit WHERE seq > 21; DELETE FROM audit_seals WHERE seq > 21;"]
            for row in forged[21...] {
                sql.append(
                    "INSERT INTO audit(seq, prev, hash, body) VALUES (\(row.seq), \(SQL.blob(row.prev)), \(SQL.blob(row.hash)), \(SQL.text(row.body)));"
                )
            }
            try tamper(path, sql.joined(separator: "\n"))
            #expect(try await verifyFile(path, publicKey: publicKey).unsealedTail == 9)
            let report = try await verifyFile(path, publicKey: publicKey, head: head)
            #expect(report.problem == "record 30 differs from the exported head (edited and re-chained)")
        }
    }

    @Test func forgedSealSignatureIsDetected() async throws {
        try await withSealedLog { path, _, seals, _, publicKey in
            var signature = try #require(seals.first { $0.seq == 11 }).signature
            signature[10] ^= 0x01
            try tamper(path, "UPDATE audit_seals SET signature = \(SQL.blob(signature)) WHERE seq = 11;")
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "the seal at record 11 has an invalid signature (forged or made by another key)")
        }
    }

    @Test func sealMovedToAnotherRecordIsDetected() async throws {
        try await withSealedLog { path, rows, _, _, publicKey in
            // A genuine signature, but claimed for another seq and hash: the message binds both.
            try tamper(path, "UPDATE audit_seals SET seq = 12, hash = \(SQL.blob(rows[11].hash)) WHERE seq = 11;")
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(report.problem == "the seal at record 12 has an invalid signature (forged or made by another key)")
        }
    }

    @Test func forgedHeadIsRefused() async throws {
        try await withSealedLog { path, rows, seals, head, publicKey in
            // A head claiming a rechained record 30, not signed by the vault's key.
            var forged = head
            forged.hash = Hex.encode(BLAKE2b.hash(Array("other".utf8)))
            let report = try await verifyFile(path, publicKey: publicKey, head: forged)
            #expect(
                report.problem == "the exported head for record 30 has an invalid signature for this vault's audit key"
            )
            // A genuine head of an earlier seal still verifies the log.
            let seal11 = try #require(seals.first { $0.seq == 11 })
            let earlier = AuditHead(
                seq: 11,
                hash: Hex.encode(seal11.hash),
                signature: Hex.encode(seal11.signature),
                publicKey: head.publicKey
            )
            #expect(rows[10].hash == seal11.hash)
            #expect(try await verifyFile(path, publicKey: publicKey, head: earlier).ok)
        }
    }

    @Test func allSealsDeletedAndTheLogRewrittenIsDetected() async throws {
        try await withSealedLog { path, rows, _, _, publicKey in
            // Without any seal the chain is just hashes anyone can recompute: rewrite record 5 and everything after.
            var forged = rows
            forged[4].body = try forgedBody(rows[4])
            forged = rechained(forged, from: 4)
            try tamper(path, "DELETE FROM audit_seals;\n" + forged[4...].map(updateSQL).joined(separator: "\n"))
            let report = try await verifyFile(path, publicKey: publicKey)
            #expect(
                report.problem
                    == "records 1...30 are covered by no seal, though cvault seals record 1 and at least every 1000 records: "
                    + "seals were deleted and these records may have been rewritten"
            )
        }
    }

    @Test func aSealIsWrittenEveryThousandRecordsAndDeletingThemIsDetected() async throws {
        try await withTemporaryFolder { folder in
            let fixture = try AuditVault.make(in: folder)
            // 1100 records in one transaction at one instant: only the record count makes seals.
            let sealer = fixture.vault.auditSealer
            let event = AuditEvent(
                at: VaultClock.iso8601(1_790_000_000),
                event: .policyLoad,
                identity: "checkout",
                outcome: .ok
            )
            try await fixture.store.write { writer in
                for _ in 0..<1100 { try AuditChain.append(event, to: writer, sealer: sealer, now: 1_790_000_000) }
            }
            #expect(try await fixture.seals().map(\.seq) == [1, 1001])
            await fixture.store.close()
            let intact = try await verifyFile(fixture.databasePath, publicKey: fixture.publicKey)
            #expect(intact.ok && intact.records == 1100 && intact.unsealedTail == 99)

            try tamper(fixture.databasePath, "DELETE FROM audit_seals WHERE seq = 1001;")
            let report = try await verifyFile(fixture.databasePath, publicKey: fixture.publicKey)
            #expect(
                report.problem
                    == "records 2...1100 are covered by no seal, though cvault seals record 1 and at least every 1000 records: "
                    + "seals were deleted and these records may have been rewritten"
            )
        }
    }

    @Test func recordsAfterTheLastSealAreReportedAsUnsealed() async throws {
        try await withTemporaryFolder { folder in
            let fixture = try await AuditVault.thirtyRecords(in: folder)
            // Five more at the same second: none is sealed as it is written.
            for _ in 0..<5 { try await fixture.vault.audit(.policyLoad, caller: fixture.checkout) }
            await fixture.store.close()
            let report = try await verifyFile(fixture.databasePath, publicKey: fixture.publicKey)
            #expect(report.ok)
            #expect(report.records == 35 && report.lastSealedSeq == 30 && report.unsealedTail == 5)
        }
    }
}

/// The subject index (`audit_subjects`) is derived from the records' `subject_refs`; a customer's access report
/// reads only the index, so a row deleted from it would hide a disclosure while the chain stays intact.
/// `audit verify` probes the index for every reference a record names.
@Suite struct AuditSubjectIndexTamperTests {
    @Test func aRecordMissingFromTheSubjectIndexIsNamed() async throws {
        try await withTemporaryFolder { folder in
            let fixture = try await AuditVault.thirtyRecords(in: folder)
            let rows = try await fixture.rows()
            await fixture.store.close()
            let path = fixture.databasePath
            #expect(try await verifyFile(path, publicKey: fixture.publicKey).ok)
            // The first detokenize record names subjects by reference only.
            let detokenize = try #require(rows.first { AuditEvent.decode($0.body)?.event == .detokenize })
            let refs = try #require(AuditEvent.decode(detokenize.body)?.subjectRefBytes)
            try #require(!refs.isEmpty)
            try tamper(
                path,
                "DELETE FROM audit_subjects WHERE seq = \(detokenize.seq) AND subject_ref = \(SQL.blob(refs[0])); "
                    + "DELETE FROM audit_subjects_pending WHERE seq = \(detokenize.seq);"
            )
            let report = try await verifyFile(path, publicKey: fixture.publicKey)
            #expect(
                report.problem
                    == "record \(detokenize.seq) is missing from the subject index (subject 1 it names): the database "
                    + "was altered, and that subject's access report would not list the record"
            )
        }
    }
}
