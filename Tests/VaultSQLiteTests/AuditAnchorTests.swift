import Foundation
import Logging
import Testing
import VaultTestSupport

@testable import VaultCore
@testable import VaultSQLite

/// The anchor and the trusted head: a vault never seals a chain that does not extend the head it sealed,
/// whether the chain was rewritten under it while it runs or before it opened, and reveals stop until an
/// operator accepts the log. Other processes appending to the same vault are not a break.
@Suite struct AuditAnchorTests {
    /// The review's attack on the file: delete record `victim` and every seal from it on, renumber the rest
    /// and re-chain them (no key needed).
    func deleteAndRechain(_ path: String, _ rows: [AuditRow], victim: Int64) throws {
        var prev = rows[Int(victim) - 2].hash
        var sql = ["DELETE FROM audit WHERE seq >= \(victim);", "DELETE FROM audit_seals WHERE seq >= \(victim);"]
        for row in rows where row.seq > victim {
            var event = try #require(AuditEvent.decode(row.body))
            event.seq = row.seq - 1
            let body = event.canonicalJSON()
            let hash = AuditChain.hash(prev: prev, body: body)
            sql.append(
                "INSERT INTO audit(seq, prev, hash, body) VALUES (\(event.seq), \(SQL.blob(prev)), \(SQL.blob(hash)), \(SQL.text(body)));"
            )
            prev = hash
        }
        try tamper(path, sql.joined(separator: "\n"))
    }

    /// A second vault on the same files, as another process (or this one after a restart) opens them.
    func reopen(_ fixture: AuditVault) throws -> (Vault, SQLiteStore) {
        let store = try SQLiteStore.open(at: fixture.databasePath)
        let policies = PolicyHolder(
            path: fixture.folder + "/policy.yaml",
            initial: try Policy.parse(yaml: AuditVault.policyYAML),
            logger: Logger(label: "test")
        )
        return (
            Vault(
                keyring: fixture.keyring,
                store: store,
                policies: policies,
                clock: fixture.clock.vaultClock,
                logger: Logger(label: "test")
            ), store
        )
    }

    @Test func aChainRewrittenUnderARunningVaultIsNeverSealed() async throws {
        try await withTemporaryFolder { folder in
            let fixture = try await AuditVault.thirtyRecords(in: folder)
            let card = try await fixture.vault.tokenize(
                TokenizeRequest(kind: .card, subject: "cust-x", values: ["4111 1111 1111 1111"]),
                caller: fixture.checkout
            )
            try await fixture.vault.sealAudit()
            let anchor = try #require(try AuditAnchor.read(at: AuditAnchor.path(keyringPath: fixture.keyring.path)))
            #expect(anchor.seq == 31 && anchor.epoch == 0)
            try deleteAndRechain(fixture.databasePath, try await fixture.rows(), victim: 17)
            fixture.clock.advance(by: 5)

            // The next look at the head finds it; nothing is sealed, and reveals fail closed.
            await #expect(throws: VaultError.self) { try await fixture.vault.sealAudit() }
            #expect(fixture.vault.auditProblem != nil)
            #expect(try await fixture.seals().allSatisfy { $0.seq < 17 })
            do throws(VaultError) {
                _ = try await fixture.vault.detokenize(card, purpose: "charge", caller: fixture.checkout)
                Issue.record("detokenize revealed on a broken audit log")
            } catch {
                #expect(error.code == .audit)
                #expect(error.message.hasPrefix("the audit log is broken: "))
                #expect(error.hint?.contains("cvault audit accept") == true)
            }
            // Other writes still append records, but none is sealed.
            _ = try await fixture.vault.tokenize(
                TokenizeRequest(kind: .card, subject: "cust-y", values: ["4111 1111 1111 1111"]),
                caller: fixture.checkout
            )
            #expect(try await fixture.seals().allSatisfy { $0.seq < 17 })
            await fixture.store.close()
        }
    }

    @Test func aChainRewrittenWhileNoVaultRanIsFoundAtOpen() async throws {
        try await withTemporaryFolder { folder in
            let fixture = try await AuditVault.thirtyRecords(in: folder)
            await fixture.store.close()
            try deleteAndRechain(
                fixture.databasePath,
                try await {
                    let store = try SQLiteStore.open(at: fixture.databasePath)
                    defer { Task { await store.close() } }
                    return try await store.read { try $0.auditRows(from: 1, limit: 100) }
                }(),
                victim: 17
            )

            let (vault, store) = try reopen(fixture)
            #expect(
                try await vault.checkAudit()
                    == "the log ends at record 29 but the anchored head is record 30: record 30 was removed"
            )
            await #expect(throws: VaultError.self) { try await vault.sealAudit() }
            // The verifier names it against the anchor too, even with the right public key.
            let anchor = try AuditAnchor.read(at: AuditAnchor.path(keyringPath: fixture.keyring.path))
            let report = try await store.read {
                try AuditVerifier.verify(reader: $0, publicKey: fixture.publicKey, anchor: anchor)
            }
            #expect(
                report.problem == "the log ends at record 29 but the audit anchor is record 30: record 30 was cut off"
            )

            // The operator accepts the log: recorded, sealed, re-anchored in a new epoch, and reveals work again.
            let (lost, accepted) = try await vault.acceptAuditLog(reason: "investigated", uid: 0)
            #expect(lost.seq == 30 && accepted.seq == 29)
            #expect(vault.auditProblem == nil)
            let moved = try #require(try AuditAnchor.read(at: AuditAnchor.path(keyringPath: fixture.keyring.path)))
            #expect(moved.epoch == 1 && moved.seq == 30)
            let after = try await store.read {
                try AuditVerifier.verify(reader: $0, publicKey: fixture.publicKey, anchor: moved)
            }
            #expect(after.ok, "\(after.problem ?? "")")
            #expect(after.rebases.count == 1)
            #expect(
                after.rebases.first?.hasPrefix("audit_accept at record 30: lost anchored head record 30 (hash ") == true
            )
            try await vault.sealAudit()
            await store.close()
        }
    }

    @Test func recordsOtherProcessesAppendAreNotABreak() async throws {
        try await withTemporaryFolder { folder in
            let fixture = try await AuditVault.thirtyRecords(in: folder)
            let (other, otherStore) = try reopen(fixture)
            for round in 0..<3 {
                try await other.audit(.policyLoad, caller: fixture.checkout)
                fixture.clock.advance(by: 2)
                try await fixture.vault.audit(.policyLoad, caller: fixture.helpdesk)
                try await other.sealAudit()
                try await fixture.vault.sealAudit()
                #expect(fixture.vault.auditProblem == nil, "round \(round)")
                #expect(other.auditProblem == nil, "round \(round)")
            }
            let card = try await other.tokenize(
                TokenizeRequest(kind: .card, subject: "cust-z", values: ["4111 1111 1111 1111"]),
                caller: fixture.checkout
            )
            #expect(try await fixture.vault.detokenize(card, purpose: "charge", caller: fixture.checkout).count == 1)
            try await fixture.vault.sealAudit()
            let anchor = try #require(try AuditAnchor.read(at: AuditAnchor.path(keyringPath: fixture.keyring.path)))
            #expect(anchor.seq == (try await fixture.rows()).count)
            await otherStore.close()
            await fixture.store.close()
        }
    }

    @Test func aWriteRolledBackAfterItsAppendIsNoBreak() async throws {
        try await withTemporaryFolder { folder in
            let fixture = try await AuditVault.thirtyRecords(in: folder)
            let sealer = fixture.vault.auditSealer
            let event = AuditEvent(
                at: VaultClock.iso8601(1_790_000_100),
                event: .policyLoad,
                identity: "checkout",
                outcome: .ok
            )
            fixture.clock.advance(by: 5)
            // The job appends (and seals, the last seal being old) and then fails: its savepoint is undone.
            await #expect(throws: VaultError.self) {
                try await fixture.vault.write { writer -> Int in
                    try AuditChain.append(event, to: writer, sealer: sealer, now: 1_790_000_100)
                    throw VaultError(.internal, "a failure after the append")
                }
            }
            #expect(try await fixture.rows().count == 30)
            try await fixture.vault.audit(.policyLoad, caller: fixture.checkout)
            try await fixture.vault.sealAudit()
            #expect(fixture.vault.auditProblem == nil)
            #expect(try await fixture.rows().count == 31)
            let anchor = try #require(try AuditAnchor.read(at: AuditAnchor.path(keyringPath: fixture.keyring.path)))
            #expect(anchor.seq == 31)
            await fixture.store.close()
        }
    }

    @Test func theAnchorNeverMovesBackwards() async throws {
        try await withTemporaryFolder { folder in
            let signer = Ed25519.SigningKey(seed: SecureBytes(randomCount: 32))
            let path = folder + "/" + AuditAnchor.fileName
            let hash = BLAKE2b.hash(Array("head".utf8))
            let wrote1 = try AuditAnchor.signed(epoch: 0, seq: 20, hash: hash, signer: signer).store(
                at: path,
                publicKey: signer.publicKey
            )
            #expect(wrote1)
            let wrote2 = try AuditAnchor.signed(epoch: 0, seq: 10, hash: hash, signer: signer).store(
                at: path,
                publicKey: signer.publicKey
            )
            #expect(!wrote2)
            #expect(try AuditAnchor.read(at: path)?.seq == 20)
            // Only an operator's new epoch moves it to an earlier record.
            let wrote3 = try AuditAnchor.signed(epoch: 1, seq: 10, hash: hash, signer: signer).store(
                at: path,
                publicKey: signer.publicKey,
                newEpoch: true
            )
            #expect(wrote3)
            #expect(try AuditAnchor.read(at: path)?.epoch == 1)
            #expect(try AuditAnchor.read(at: path)?.seq == 10)
            let wrote4 = try AuditAnchor.signed(epoch: 0, seq: 99, hash: hash, signer: signer).store(
                at: path,
                publicKey: signer.publicKey
            )
            #expect(!wrote4)
            var mode = stat()
            #expect(stat(path, &mode) == 0 && mode.st_mode & 0o777 == 0o600)
        }
    }
}

/// Seal gaps the sealing rules do not allow, on logs whose chain is otherwise intact.
@Suite struct AuditSealGapTests {
    @Test func consecutiveSealsMoreThanAThousandRecordsApartAreFlagged() async throws {
        try await withTemporaryFolder { folder in
            let fixture = try AuditVault.make(in: folder)
            let sealer = fixture.vault.auditSealer
            let event = AuditEvent(
                at: VaultClock.iso8601(1_790_000_000),
                event: .policyLoad,
                identity: "checkout",
                outcome: .ok
            )
            try await fixture.store.write { writer in
                _ = try sealer.job {
                    for _ in 0..<2100 { try AuditChain.append(event, to: writer, sealer: sealer, now: 1_790_000_000) }
                }
            }
            #expect(try await fixture.seals().map(\.seq) == [1, 1001, 2001])
            await fixture.store.close()
            #expect(try await verifyFile(fixture.databasePath, publicKey: fixture.publicKey).ok)
            try tamper(fixture.databasePath, "DELETE FROM audit_seals WHERE seq = 1001;")
            let report = try await verifyFile(fixture.databasePath, publicKey: fixture.publicKey)
            #expect(
                report.problem
                    == "records 2...2000 lie between the seals at records 1 and 2001, though cvault seals at least every 1000 records: "
                    + "seals were deleted and these records may have been rewritten"
            )
        }
    }

    @Test func recordsSpanningMoreThanTheIntervalWithoutASealAreFlagged() async throws {
        try await withTemporaryFolder { folder in
            let fixture = try AuditVault.make(in: folder)
            // Three groups 30 s apart: the first record of each is sealed as it is written.
            for group in 0..<3 {
                try await fixture.writeTenRecords(group: group)
                fixture.clock.advance(by: 30)
            }
            try await fixture.vault.sealAudit()
            #expect(try await fixture.seals().map(\.seq) == [1, 11, 21, 30])
            await fixture.store.close()
            #expect(try await verifyFile(fixture.databasePath, publicKey: fixture.publicKey).ok)

            // Fewer than 1000 records, but written over 30 s with no seal among them.
            try tamper(fixture.databasePath, "DELETE FROM audit_seals WHERE seq = 11;")
            let report = try await verifyFile(fixture.databasePath, publicKey: fixture.publicKey)
            #expect(
                report.problem
                    == "records 2...20 were written over 30 seconds with no seal among them, though cvault seals at least "
                    + "every 1 second while records are written: seals were deleted and these records may have been rewritten"
            )

            // The same in the unsealed tail.
            try tamper(fixture.databasePath, "DELETE FROM audit_seals WHERE seq >= 11;")
            let tail = try await verifyFile(fixture.databasePath, publicKey: fixture.publicKey)
            #expect(
                tail.problem
                    == "records 2...30 were written over 60 seconds with no seal among them, though cvault seals at least "
                    + "every 1 second while records are written: seals were deleted and these records may have been rewritten"
            )
        }
    }

    @Test func aLogWithoutASealOnRecordOneIsFlagged() async throws {
        try await withTemporaryFolder { folder in
            let fixture = try await AuditVault.thirtyRecords(in: folder)
            await fixture.store.close()
            try tamper(fixture.databasePath, "DELETE FROM audit_seals WHERE seq = 1;")
            let report = try await verifyFile(fixture.databasePath, publicKey: fixture.publicKey)
            #expect(
                report.problem
                    == "record 1 has no seal, though cvault seals the first record as it writes it: seals were deleted"
            )
        }
    }
}
