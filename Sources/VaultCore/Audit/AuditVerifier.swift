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
        self.seq = seq
        self.hash = hash
        self.signature = signature
        self.publicKey = publicKey
    }
}

/// What `cvault audit verify` found.
public struct AuditReport: Sendable, Equatable {
    public var records: Int64 = 0
    public var seals: Int = 0
    public var lastSealedSeq: Int64 = 0
    /// The first problem found, naming the first bad record; nil for an intact log.
    public var problem: String?
    /// Operators' decisions recorded in the log (`restore` rollbacks, `audit_accept`), each as
    /// "EVENT at record N: DETAIL", oldest first: an intact log that holds one is not the whole history.
    public var rebases: [String] = []
    /// Records written after the last seal (intact as far as the chain shows, but not yet signed).
    public var unsealedTail: Int64 { records - lastSealedSeq }
    public var ok: Bool { problem == nil }

    /// The line `cvault audit verify` prints for an intact log.
    public var summary: String {
        var line = "audit log intact: \(records) records, \(seals) seals, last seal at record \(lastSealedSeq)"
        if unsealedTail > 0 { line += ", \(unsealedTail) records after it not yet sealed" }
        for rebase in rebases { line += "; " + rebase }
        return line
    }
}

/// Checks the whole chain and every seal, using only public data: the rows and the audit public key.
public enum AuditVerifier {
    /// Slack on the time rule between seals. A record's `at` is taken when its request starts, and under load a
    /// request can wait in the write queue for seconds before its record is appended (sealing decides with the
    /// same time), so records between two genuine seals can lie a few seconds apart; a clock step adds more.
    public static let sealSlackSeconds: Int64 = 10

    /// Events that record an operator taking the log as it is: the chain before them may have lost records
    /// (`restore` with outcome `rollback`, `audit_accept`), which is reported, not failed.
    static func isRebase(_ event: AuditEvent) -> Bool {
        event.event == .auditAccept || (event.event == .restore && event.outcome == .rollback)
    }

    /// Verifies the log. `head` is a head exported earlier (`cvault audit head`), `anchor` the vault's anchor
    /// file (`AuditAnchor`): the log must still reach each, with the same hash.
    public static func verify(
        reader: any StoreReader,
        publicKey: [UInt8],
        head: AuditHead? = nil,
        anchor: AuditAnchor? = nil
    ) throws -> AuditReport {
        var report = AuditReport()
        let seals = try reader.auditSeals()
        report.seals = seals.count
        var sealsBySeq: [Int64: AuditSeal] = [:]
        for seal in seals {
            guard
                Ed25519.verify(
                    signature: seal.signature,
                    message: AuditChain.sealMessage(seq: seal.seq, hash: seal.hash),
                    publicKey: publicKey
                )
            else {
                report.problem =
                    "the seal at record \(seal.seq) has an invalid signature (forged or made by another key)"
                return report
            }
            sealsBySeq[seal.seq] = seal
            report.lastSealedSeq = max(report.lastSealedSeq, seal.seq)
        }
        // Points the log must still reach: (seq, hash, what names it in a problem).
        var marks: [Int64: (hash: [UInt8], name: String)] = [:]
        if let head {
            guard let hash = Hex.decode(head.hash), let signature = Hex.decode(head.signature),
                Ed25519.verify(
                    signature: signature,
                    message: AuditChain.sealMessage(seq: head.seq, hash: hash),
                    publicKey: publicKey
                )
            else {
                report.problem =
                    "the exported head for record \(head.seq) has an invalid signature for this vault's audit key"
                return report
            }
            marks[head.seq] = (hash, "the exported head")
        }
        if let anchor {
            guard anchor.isSigned(by: publicKey) else {
                report.problem =
                    "the audit anchor (record \(anchor.seq)) has an invalid signature for this vault's audit key"
                return report
            }
            if let other = marks[anchor.seq], other.hash != anchor.hash {
                report.problem = "the audit anchor and the exported head disagree about record \(anchor.seq)"
                return report
            }
            marks[anchor.seq] = (anchor.hash, "the audit anchor")
        }

        var expected: Int64 = 1
        var prev = AuditChain.genesis
        var cursor: Int64 = 1
        var stretch = SealStretch()
        var indexGap: String?
        while report.problem == nil {
            let page = try reader.auditRows(from: cursor, limit: 10_000)
            if page.isEmpty { break }
            for row in page {
                let event: AuditEvent
                switch inspect(row, expected: expected, prev: prev) {
                case .failure(let problem):
                    report.problem = problem.text
                    return report
                case .success(let decoded): event = decoded
                }
                // Named only if the chain holds (a rewritten chain is the graver problem, and its own), and
                // forgiven by a later rebase: an operator's accept takes the log before it as it is.
                if indexGap == nil, let problem = try indexProblem(row, event, reader: reader) { indexGap = problem }
                if let seal = sealsBySeq[row.seq], seal.hash != row.hash {
                    report.problem = "record \(row.seq) differs from what its seal signed (edited and re-chained)"
                    return report
                }
                if let mark = marks[row.seq] {
                    guard mark.hash == row.hash else {
                        report.problem = "record \(row.seq) differs from \(mark.name) (edited and re-chained)"
                        return report
                    }
                    marks[row.seq] = nil
                }
                if isRebase(event) {
                    indexGap = nil
                    report.rebases.append("\(event.event.rawValue) at record \(row.seq): \(event.detail ?? "")")
                }
                if sealsBySeq[row.seq] != nil {
                    if let problem = stretch.close(at: row.seq, event: event) {
                        report.problem = problem
                        return report
                    }
                } else {
                    stretch.add(row.seq, event)
                }
                prev = row.hash
                expected += 1
                report.records = row.seq
            }
            cursor = expected
        }
        if report.lastSealedSeq > report.records {
            report.problem =
                "the log ends at record \(report.records) but a seal covers record \(report.lastSealedSeq): "
                + "records \(report.records + 1)...\(report.lastSealedSeq) were cut off"
        } else if let (seq, mark) = marks.min(by: { $0.key < $1.key }) {
            report.problem =
                "the log ends at record \(report.records) but \(mark.name) is record \(seq): "
                + (report.records + 1 == seq
                    ? "record \(seq) was cut off" : "records \(report.records + 1)...\(seq) were cut off")
        } else if report.records > 0, report.seals == 0 || report.unsealedTail >= AuditChain.sealEveryRecords {
            // `AuditChain.append` seals record 1 and then at least every `sealEveryRecords` records, in the
            // transaction that writes them. A longer unsealed stretch means seals were deleted, and the records
            // after the last one left could have been rewritten by anyone able to write the database.
            let first = report.lastSealedSeq + 1
            report.problem =
                "records \(first)...\(report.records) are covered by no seal, though cvault seals record 1 "
                + "and at least every \(AuditChain.sealEveryRecords) records: seals were deleted and these records may have been rewritten"
        } else if report.records > 0, sealsBySeq[1] == nil {
            report.problem =
                "record 1 has no seal, though cvault seals the first record as it writes it: seals were deleted"
        } else if let problem = stretch.timeProblem() {
            report.problem = problem
        } else if let indexGap {
            report.problem = indexGap
        }
        return report
    }

    /// The subject index is derived from the bodies (`AuditEvent.subjectRefs`), and a customer's access report
    /// reads only the index: a row missing from it would hide this record from the report of a subject it
    /// names, though the chain is intact. One probe of the index's key per subject the record names.
    static func indexProblem(_ row: AuditRow, _ event: AuditEvent, reader: any StoreReader) throws -> String? {
        for (index, ref) in event.subjectRefBytes.enumerated() {
            if try !reader.auditRecord(row.seq, isIndexedUnder: ref) {
                return "record \(row.seq) is missing from the subject index (subject \(index + 1) it names): the "
                    + "database was altered, and that subject's access report would not list the record"
            }
        }
        return nil
    }

    /// The records between two consecutive seals (excluding both sealed records), checked against the sealing
    /// rules when the next seal is reached: `AuditChain.append` seals a record when the last seal is
    /// `sealEverySeconds` old or `sealEveryRecords` back, so consecutive seals are at most that many records
    /// apart, and the records between them were all written within about a second of the first (their `at`
    /// span at most `sealEverySeconds + sealSlackSeconds`). A longer stretch means seals were deleted, and the
    /// records in it could have been rewritten. A stretch holding an operator's accept or rollback is exempt:
    /// the log was broken there, and that record says so.
    struct SealStretch {
        var lastSealed: Int64 = 0
        var first: Int64?
        var last: Int64 = 0
        var earliest: Int64 = .max
        var latest: Int64 = .min
        var exempt = false

        mutating func add(_ seq: Int64, _ event: AuditEvent) {
            if first == nil { first = seq }
            last = seq
            if isRebase(event) { exempt = true }
            if let at = seconds(event.at) {
                earliest = min(earliest, at)
                latest = max(latest, at)
            }
        }

        /// At the next seal (record `seq`): the problem with the stretch that ends here, if any.
        mutating func close(at seq: Int64, event: AuditEvent) -> String? {
            defer { self = SealStretch(lastSealed: seq) }
            if isRebase(event) || exempt || lastSealed == 0 { return nil }
            if seq - lastSealed > AuditChain.sealEveryRecords {
                return
                    "records \(lastSealed + 1)...\(seq - 1) lie between the seals at records \(lastSealed) and \(seq), "
                    + "though cvault seals at least every \(AuditChain.sealEveryRecords) records: seals were deleted and these records may have been rewritten"
            }
            return timeProblem()
        }

        func timeProblem() -> String? {
            guard !exempt, let first, latest > earliest,
                latest - earliest > AuditChain.sealEverySeconds + AuditVerifier.sealSlackSeconds
            else { return nil }
            return "records \(first)...\(last) were written over \(latest - earliest) seconds with no seal among them, "
                + "though cvault seals at least every \(AuditChain.sealEverySeconds) second while records are written: "
                + "seals were deleted and these records may have been rewritten"
        }
    }

    /// Unix seconds of a record's `at` (`YYYY-MM-DDTHH:MM:SSZ`, as cvault writes it), without a formatter per
    /// record; other forms go through `VaultClock.parseISO8601`.
    static func seconds(_ at: String) -> Int64? {
        let b = Array(at.utf8)
        guard b.count == 20, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A, b[19] == 0x5A
        else {
            return VaultClock.parseISO8601(at)
        }
        func number(_ range: Range<Int>) -> Int64? {
            var n: Int64 = 0
            for i in range {
                guard (0x30...0x39).contains(b[i]) else { return nil }
                n = n * 10 + Int64(b[i] - 0x30)
            }
            return n
        }
        guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10), let hh = number(11..<13),
            let mm = number(14..<16), let ss = number(17..<19), (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm); every value here is small, nothing overflows.
        let yy = m <= 2 ? y - 1 : y
        let era = yy / 400
        let yoe = yy - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86_400 + hh * 3_600 + mm * 60 + ss
    }

    struct Problem: Error { let text: String }

    /// The first thing wrong with `row`, given what the chain so far expects.
    static func check(_ row: AuditRow, expected: Int64, prev: [UInt8]) -> String? {
        if case .failure(let problem) = inspect(row, expected: expected, prev: prev) { return problem.text }
        return nil
    }

    /// `row`'s event, or the first thing wrong with it.
    static func inspect(_ row: AuditRow, expected: Int64, prev: [UInt8]) -> Result<AuditEvent, Problem> {
        if row.seq > expected {
            return .failure(
                Problem(
                    text: expected == row.seq - 1
                        ? "record \(expected) is missing (deleted)"
                        : "records \(expected)...\(row.seq - 1) are missing (deleted)"
                )
            )
        }
        if row.seq < expected { return .failure(Problem(text: "record \(row.seq) appears out of order")) }
        guard AuditChain.hash(prev: row.prev, body: row.body) == row.hash else {
            return .failure(Problem(text: "record \(row.seq) was edited: its hash does not match its contents"))
        }
        guard row.prev == prev else {
            return .failure(
                Problem(
                    text: "record \(row.seq) does not chain to record \(row.seq - 1) (inserted, reordered or edited)"
                )
            )
        }
        guard let event = AuditEvent.decode(row.body), event.seq == row.seq else {
            return .failure(Problem(text: "record \(row.seq) holds the body of another record (reordered or moved)"))
        }
        return .success(event)
    }
}
