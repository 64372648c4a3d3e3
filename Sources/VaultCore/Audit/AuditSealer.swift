import Foundation
import Logging
import Synchronization

/// The only thing that signs audit seals, and what this process knows the chain must extend.
///
/// The chain is unkeyed, so whoever can write the database can delete a record and re-chain everything after
/// it. Seals alone do not stop that if the process then signs whatever head it finds: it must know which
/// head is genuine. The sealer keeps that head (`trusted`) in memory, moving it forward as the process appends
/// its own records and checking only the records other processes appended since; at open it starts from the
/// anchor file (`AuditAnchor`, outside the database), which it moves forward after each seal it commits.
/// A database whose chain does not extend that head is **broken**: no seal is made, detokenize fails closed
/// (`VaultError.auditBroken`), `health` says so, and it stays so until an operator accepts the log
/// (`cvault audit accept`) or restores a backup, which moves the anchor to a new epoch.
public final class AuditSealer: Sendable {
    let signer: Ed25519.SigningKey
    public let anchorPath: String
    private let logger: Logger
    private let state = Mutex(State())
    /// Anchor files are written here, after the seal's transaction committed, so a request that happened to
    /// seal does not wait for two more fsyncs. Serial: anchors are written in the order seals committed.
    private let anchorWrites = DispatchQueue(label: "cvault.audit.anchor")

    /// A chain position: a record's seq and hash (seq 0 and 32 zero bytes before the first record).
    public struct Head: Sendable, Equatable, CustomStringConvertible {
        public var seq: Int64
        public var hash: [UInt8]
        public static let genesis = Head(seq: 0, hash: AuditChain.genesis)
        init(seq: Int64, hash: [UInt8]) {
            self.seq = seq
            self.hash = hash
        }
        init(_ row: AuditRow?) { self = row.map { Head(seq: $0.seq, hash: $0.hash) } ?? .genesis }
        public var description: String { "record \(seq) (hash \(Hex.encode(hash)))" }
    }

    /// What one write job appended and sealed, for `committed(_:)`.
    public struct Job<T: Sendable>: Sendable {
        let value: T
        let last: Head?
        let seal: AuditSeal?
        let newEpoch: Bool
    }

    private struct State {
        var loaded = false
        /// How many times an operator moved the anchor off the chain.
        var epoch: Int64 = 0
        /// A head known durable and genuine: the anchor, or a record this process appended and saw commit.
        var confirmed = Head.genesis
        /// The last head this process appended or checked (maybe not committed yet): the fast path.
        var trusted = Head.genesis
        /// Why the chain is broken; nil while it extends `confirmed`.
        var problem: String?
        var anchorStamp: FileStamp?
        var anchorWriteFailed = false
        // The job running on the writer thread (jobs run one at a time there).
        var jobMark = Head.genesis
        var jobLast: Head?
        var jobSeal: AuditSeal?
        var jobNewEpoch = false
    }

    init(signer: Ed25519.SigningKey, anchorPath: String, logger: Logger) {
        self.signer = signer
        self.anchorPath = anchorPath
        self.logger = logger
    }

    /// Why the chain is broken, or nil. Known after the first write of this process (a server's first write is
    /// its `policy_load` at start).
    public var problem: String? { state.withLock { $0.problem } }

    /// Throws `VaultError.auditBroken` if the chain is broken.
    func requireIntact() throws(VaultError) {
        if let problem { throw VaultError.auditBroken(problem) }
    }

    // MARK: Jobs

    /// Runs one write job's body (on the writer thread, inside its savepoint). If the body throws, its
    /// appends are undone with the savepoint, and so is what the sealer learned from them.
    func job<T: Sendable>(_ body: () throws -> T) throws -> Job<T> {
        state.withLock { s in
            s.jobMark = s.trusted
            s.jobLast = nil
            s.jobSeal = nil
            s.jobNewEpoch = false
        }
        do {
            let value = try body()
            return state.withLock { s in
                defer {
                    s.jobLast = nil
                    s.jobSeal = nil
                    s.jobNewEpoch = false
                }
                return Job(value: value, last: s.jobLast, seal: s.jobSeal, newEpoch: s.jobNewEpoch)
            }
        } catch {
            state.withLock { s in
                if s.jobLast != nil { s.trusted = s.jobMark }
                s.jobLast = nil
                s.jobSeal = nil
                s.jobNewEpoch = false
            }
            throw error
        }
    }

    /// After the job's transaction committed: what it appended is durable, and a seal it made moves the anchor.
    func committed<T>(_ job: Job<T>) {
        let epoch: Int64 = state.withLock { s in
            if let last = job.last, job.newEpoch || last.seq > s.confirmed.seq { s.confirmed = last }
            return s.epoch
        }
        guard let seal = job.seal else { return }
        let anchor = AuditAnchor.signed(epoch: epoch, seq: seal.seq, hash: seal.hash, signer: signer)
        if job.newEpoch {
            // An operator's accept or restore: the caller learns whether the anchor moved.
            anchorWrites.sync { write(anchor, newEpoch: true) }
        } else {
            anchorWrites.async { self.write(anchor, newEpoch: false) }
        }
    }

    /// Waits until every anchor write queued so far is done (a CLI command's end, a server's stop).
    func flush() { anchorWrites.sync {} }

    private func write(_ anchor: AuditAnchor, newEpoch: Bool) {
        do {
            try anchor.store(at: anchorPath, publicKey: signer.publicKey, newEpoch: newEpoch)
            let stamp = FileStamp.of(anchorPath)
            state.withLock { s in
                s.anchorWriteFailed = false
                if s.epoch == anchor.epoch { s.anchorStamp = stamp }
            }
        } catch {
            let first = state.withLock { s in
                defer { s.anchorWriteFailed = true }
                return !s.anchorWriteFailed
            }
            if first {
                logger.error(
                    "cannot write the audit anchor; this process still refuses a rewritten log, but a restart would not notice one",
                    metadata: ["audit.anchor": "\(anchorPath)", "error": "\(error)"]
                )
            }
        }
    }

    // MARK: Checks, inside a write transaction

    /// Checks that `head` (the database's, read in this transaction) extends the trusted head. On the fast
    /// path (nothing else appended) that is one comparison; otherwise the records in between are read and
    /// checked. A chain that does not extend it marks the log broken (once, loudly).
    func admit(_ head: AuditRow?, writer: any StoreWriter) throws {
        let target = Head(head)
        let (loaded, fast, bases) = state.withLock { s -> (Bool, Bool, [Head]) in
            (
                s.loaded, s.problem != nil || s.trusted == target,
                s.trusted == s.confirmed ? [s.trusted] : [s.trusted, s.confirmed]
            )
        }
        guard loaded else {
            try load(writer)
            return try admit(head, writer: writer)
        }
        if fast { return }
        var problem: String?
        for base in bases {
            problem = try Self.extensionProblem(from: base, to: target, reader: writer)
            if problem == nil { break }
        }
        if let problem {
            broke(problem)
        } else {
            state.withLock { $0.trusted = target }
        }
    }

    /// Moves the trusted head to a record this process just appended on top of an admitted head.
    func appended(_ row: AuditRow) {
        state.withLock { s in
            if s.problem == nil { s.trusted = Head(row) }
            s.jobLast = Head(row)
        }
    }

    /// Signs `row` (the head) and stores the seal, unless the chain is broken: then nothing is signed.
    @discardableResult
    func seal(_ row: AuditRow, writer: any StoreWriter, now: Int64) throws -> AuditSeal? {
        guard problem == nil else { return nil }
        let seal = signedSeal(of: row, at: now)
        try writer.appendAuditSeal(seal)
        state.withLock { $0.jobSeal = seal }
        return seal
    }

    /// `row`'s seal: its seq and hash signed with the audit key (docs/AUDIT.md, "Seals").
    private func signedSeal(of row: AuditRow, at now: Int64) -> AuditSeal {
        AuditSeal(
            seq: row.seq,
            hash: row.hash,
            signature: signer.sign(AuditChain.sealMessage(seq: row.seq, hash: row.hash)),
            at: now
        )
    }

    /// The operator's decision (`audit accept`, `restore --accept-rollback`): `row`, just appended on top of
    /// the database's head, becomes the trusted head of a new epoch, and is sealed.
    func rebase(on row: AuditRow, writer: any StoreWriter, now: Int64) throws {
        let seal = signedSeal(of: row, at: now)
        try writer.appendAuditSeal(seal)
        state.withLock { s in
            s.epoch += 1
            s.problem = nil
            s.trusted = Head(row)
            s.jobLast = Head(row)
            s.jobSeal = seal
            s.jobNewEpoch = true
        }
        logger.notice("audit log accepted by an operator; sealing again", metadata: ["audit.head": "\(row.seq)"])
    }

    /// The head this process anchored (the anchor file's, or a later seal of its own).
    var anchoredHead: Head { state.withLock { $0.confirmed } }

    /// Re-reads the anchor file if another process changed it: a CLI command that sealed (the anchor moves
    /// forward), or an operator's accept or restore (a new epoch, which clears a broken state if the database
    /// extends it). Older anchors are ignored.
    func refresh(writer: any StoreWriter, head: AuditRow?) throws {
        let stamp = FileStamp.of(anchorPath)
        let (loaded, known, epoch, confirmed) = state.withLock { ($0.loaded, $0.anchorStamp, $0.epoch, $0.confirmed) }
        guard loaded, stamp != nil, stamp != known else { return }
        state.withLock { $0.anchorStamp = stamp }
        guard let anchor = try? AuditAnchor.read(at: anchorPath), anchor.isSigned(by: signer.publicKey) else {
            logger.warning(
                "the audit anchor file is not a valid anchor of this vault; keeping the head in memory",
                metadata: ["audit.anchor": "\(anchorPath)"]
            )
            return
        }
        let newer = anchor.epoch > epoch || (anchor.epoch == epoch && anchor.seq > confirmed.seq)
        guard newer else { return }
        let base = Head(seq: anchor.seq, hash: anchor.hash)
        if let problem = try Self.extensionProblem(from: base, to: Head(head), reader: writer) {
            broke(problem)
            return
        }
        let cleared = state.withLock { s -> Bool in
            let wasBroken = s.problem != nil
            if anchor.epoch > s.epoch { s.problem = nil }
            s.epoch = anchor.epoch
            s.confirmed = base
            if s.problem == nil { s.trusted = Head(head) }
            return wasBroken && s.problem == nil
        }
        if cleared {
            logger.notice(
                "audit anchor moved by an operator; the log is trusted again and sealed as before",
                metadata: ["audit.anchor.epoch": "\(anchor.epoch)", "audit.anchor.seq": "\(anchor.seq)"]
            )
        }
    }

    /// Reads the anchor file. Without one (a vault made before anchors, or the file was removed), verifies the
    /// whole log once and anchors its last seal after this transaction commits.
    private func load(_ writer: any StoreWriter) throws {
        let stamp = FileStamp.of(anchorPath)
        let anchor: AuditAnchor?
        do {
            anchor = try AuditAnchor.read(at: anchorPath)
        } catch {
            state.withLock {
                $0.loaded = true
                $0.anchorStamp = stamp
            }
            broke(error.message)
            return
        }
        if let anchor {
            guard anchor.isSigned(by: signer.publicKey) else {
                state.withLock {
                    $0.loaded = true
                    $0.anchorStamp = stamp
                }
                broke("the audit anchor \(anchorPath) is not signed by this vault's audit key")
                return
            }
            let head = Head(seq: anchor.seq, hash: anchor.hash)
            state.withLock { s in
                s.loaded = true
                s.anchorStamp = stamp
                s.epoch = anchor.epoch
                s.confirmed = head
                s.trusted = head
                s.jobMark = head
            }
            return
        }
        let report = try AuditVerifier.verify(reader: writer, publicKey: signer.publicKey)
        let last = try writer.lastAuditSeal()
        state.withLock { s in
            s.loaded = true
            s.anchorStamp = stamp
            s.confirmed = last.map { Head(seq: $0.seq, hash: $0.hash) } ?? .genesis
            s.trusted = s.confirmed
            s.jobMark = s.confirmed
            if s.jobSeal == nil { s.jobSeal = last }
        }
        if let problem = report.problem {
            broke(problem)
        } else if let last {
            logger.warning(
                "no audit anchor yet: the whole log verified, anchoring its last seal",
                metadata: ["audit.anchor": "\(anchorPath)", "audit.seq": "\(last.seq)"]
            )
        }
    }

    private func broke(_ problem: String) {
        let first = state.withLock { s -> Bool in
            guard s.problem == nil else { return false }
            s.problem = problem
            return true
        }
        guard first else { return }
        logger.critical(
            "AUDIT LOG BROKEN: the database's audit chain does not extend the head this vault sealed; no seal is made and detokenize is refused until an operator acts",
            metadata: [
                "audit.problem": "\(problem)", "audit.anchor": "\(anchorPath)",
                "audit.hint": "\(VaultError.auditBrokenHint)",
            ]
        )
    }

    /// Why the chain ending at `head` does not extend `base`, or nil if it does (the record at `base.seq` has
    /// `base.hash`, and every record after it up to `head` is intact and chains).
    static func extensionProblem(from base: Head, to head: Head, reader: any StoreReader) throws -> String? {
        if head.seq < base.seq {
            return "the log ends at record \(head.seq) but the anchored head is record \(base.seq): "
                + (head.seq + 1 == base.seq
                    ? "record \(base.seq) was removed" : "records \(head.seq + 1)...\(base.seq) were removed")
        }
        var prev = base.hash
        var expected = base.seq + 1
        if base.seq > 0 {
            guard let row = try reader.auditRows(from: base.seq, limit: 1).first, row.seq == base.seq else {
                return "record \(base.seq), the anchored head, is missing (deleted)"
            }
            guard row.hash == base.hash else {
                return
                    "record \(base.seq) differs from the anchored head \(Hex.encode(base.hash)): the log was rewritten"
            }
        }
        while expected <= head.seq {
            let page = try reader.auditRows(from: expected, limit: 1_000)
            if page.isEmpty { break }
            for row in page where row.seq <= head.seq {
                if let problem = AuditVerifier.check(row, expected: expected, prev: prev) { return problem }
                prev = row.hash
                expected += 1
            }
        }
        guard expected > head.seq, prev == head.hash else {
            return "record \(expected) is missing (deleted)"
        }
        return nil
    }
}

extension VaultError {
    static let auditBrokenHint =
        "run `cvault audit verify` to see what changed, then restore the database from a backup "
        + "(`cvault restore`) or accept the log as it is, with a recorded reason (`cvault audit accept`); "
        + "see docs/OPERATIONS.md"

    /// The audit log no longer extends the head this vault sealed: reveals stop until an operator acts.
    static func auditBroken(_ problem: String) -> VaultError {
        VaultError(
            .audit,
            "the audit log is broken: \(problem); detokenize is refused until an operator acts",
            hint: auditBrokenHint
        )
    }
}
