import Foundation

/// A signed chain head exported for safekeeping (`cvault audit head`), to later prove the log still holds
/// everything up to it (`cvault audit verify --head FILE`), even if the tail and its seals were cut.
public struct AuditHead: Codable, Sendable, Equatable {
    public var seq: Int64
    /// Hex of the record's hash.
    public var hash: String
    /// Hex of the Ed25519 signature over the seal message.
    public var signature: String
    /// Hex of the public key that made it.
    public var publicKey: String

    enum CodingKeys: String, CodingKey {
        case seq, hash, signature
        case publicKey = "public_key"
    }

    public init(seq: Int64, hash: String, signature: String, publicKey: String) {
        self.seq = seq; self.hash = hash; self.signature = signature; self.publicKey = publicKey
    }
}

/// What `cvault audit verify` found.
public struct AuditReport: Sendable, Equatable {
    public var records: Int64 = 0
    public var seals: Int = 0
    public var lastSealedSeq: Int64 = 0
    /// The first problem found, naming the first bad record; nil for an intact log.
    public var problem: String?
    /// Records written after the last seal (intact as far as the chain shows, but not yet signed).
    public var unsealedTail: Int64 { records - lastSealedSeq }
    public var ok: Bool { problem == nil }
}

/// Checks the whole chain and every seal, using only public data: the rows and the audit public key.
public enum AuditVerifier {
    public static func verify(reader: any StoreReader, publicKey: [UInt8], head: AuditHead? = nil) throws -> AuditReport {
        var report = AuditReport()
        let seals = try reader.auditSeals()
        report.seals = seals.count
        var sealsBySeq: [Int64: AuditSeal] = [:]
        for seal in seals {
            guard Ed25519.verify(signature: seal.signature, message: AuditChain.sealMessage(seq: seal.seq, hash: seal.hash), publicKey: publicKey) else {
                report.problem = "the seal at record \(seal.seq) has an invalid signature (forged or made by another key)"
                return report
            }
            sealsBySeq[seal.seq] = seal
            report.lastSealedSeq = max(report.lastSealedSeq, seal.seq)
        }
        var headChecked = false
        if let head {
            guard let hash = Hex.decode(head.hash), let signature = Hex.decode(head.signature),
                  Ed25519.verify(signature: signature, message: AuditChain.sealMessage(seq: head.seq, hash: hash), publicKey: publicKey) else {
                report.problem = "the exported head for record \(head.seq) has an invalid signature for this vault's audit key"
                return report
            }
        }

        var expected: Int64 = 1
        var prev = AuditChain.genesis
        var cursor: Int64 = 1
        while report.problem == nil {
            let page = try reader.auditRows(from: cursor, limit: 10_000)
            if page.isEmpty { break }
            for row in page {
                if let problem = check(row, expected: expected, prev: prev) {
                    report.problem = problem
                    return report
                }
                if let seal = sealsBySeq[row.seq], seal.hash != row.hash {
                    report.problem = "record \(row.seq) differs from what its seal signed (edited and re-chained)"
                    return report
                }
                if let head, head.seq == row.seq {
                    guard Hex.encode(row.hash) == head.hash.lowercased() else {
                        report.problem = "record \(row.seq) differs from the exported head (edited and re-chained)"
                        return report
                    }
                    headChecked = true
                }
                prev = row.hash
                expected += 1
                report.records = row.seq
            }
            cursor = expected
        }
        if report.lastSealedSeq > report.records {
            report.problem = "the log ends at record \(report.records) but a seal covers record \(report.lastSealedSeq): "
                + "records \(report.records + 1)...\(report.lastSealedSeq) were cut off"
        } else if let head, !headChecked {
            report.problem = "the log ends at record \(report.records) but the exported head is record \(head.seq): "
                + "records \(report.records + 1)...\(head.seq) were cut off"
        } else if report.records > 0, report.seals == 0 || report.unsealedTail >= AuditChain.sealEveryRecords {
            // `AuditChain.append` seals record 1 and then at least every `sealEveryRecords` records, in the
            // transaction that writes them. A longer unsealed stretch means seals were deleted, and the records
            // after the last one left could have been rewritten by anyone able to write the database.
            let first = report.lastSealedSeq + 1
            report.problem = "records \(first)...\(report.records) are covered by no seal, though cvault seals record 1 "
                + "and at least every \(AuditChain.sealEveryRecords) records: seals were deleted and these records may have been rewritten"
        }
        return report
    }

    /// The first thing wrong with `row`, given what the chain so far expects.
    static func check(_ row: AuditRow, expected: Int64, prev: [UInt8]) -> String? {
        if row.seq > expected {
            return expected == row.seq - 1
                ? "record \(expected) is missing (deleted)"
                : "records \(expected)...\(row.seq - 1) are missing (deleted)"
        }
        if row.seq < expected { return "record \(row.seq) appears out of order" }
        guard AuditChain.hash(prev: row.prev, body: row.body) == row.hash else {
            return "record \(row.seq) was edited: its hash does not match its contents"
        }
        guard row.prev == prev else {
            return "record \(row.seq) does not chain to record \(row.seq - 1) (inserted, reordered or edited)"
        }
        guard let event = AuditEvent.decode(row.body), event.seq == row.seq else {
            return "record \(row.seq) holds the body of another record (reordered or moved)"
        }
        return nil
    }
}
