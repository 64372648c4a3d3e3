/// The audit log's hash chain and seals.
///
/// Record n stores `prev` = hash of record n-1 (32 zero bytes for the first) and
/// `hash = BLAKE2b-256(prev || body)`, where body is the record's canonical JSON including its own `seq`.
/// Editing, deleting, inserting or reordering a record breaks the chain at that point. Because the chain is
/// unkeyed (anyone can verify it without secrets), someone who can write the database could rebuild it;
/// seals stop that: at intervals the head is signed with the keyring's Ed25519 audit key, over
/// `"cvault.audit.seal.v1" || 0x00 || seq (8 bytes big-endian) || hash`.
public enum AuditChain {
    public static let genesis = [UInt8](repeating: 0, count: 32)
    /// Seal at least this often while records are being written.
    public static let sealEverySeconds: Int64 = 1
    public static let sealEveryRecords: Int64 = 1000

    public static func hash(prev: [UInt8], body: String) -> [UInt8] {
        BLAKE2b.hash(prev + Array(body.utf8), outputLength: 32)
    }

    public static func sealMessage(seq: Int64, hash: [UInt8]) -> [UInt8] {
        var message = Array("cvault.audit.seal.v1".utf8)
        message.append(0)
        message += withUnsafeBytes(of: UInt64(seq).bigEndian) { Array($0) }
        message += hash
        return message
    }

    /// Appends `event` after the current head, inside the caller's write transaction, and seals the new head
    /// if the last seal is old enough. Returns the stored row. The sealer first checks that the head extends the
    /// one it trusts; if not, the record is still written but nothing is sealed (`AuditSealer`).
    @discardableResult
    static func append(
        _ event: AuditEvent,
        to writer: any StoreWriter,
        sealer: AuditSealer,
        now: Int64
    ) throws -> AuditRow {
        let head = try writer.auditHead()
        try sealer.admit(head, writer: writer)
        let row = try write(event, after: head, to: writer)
        sealer.appended(row)
        let last = try writer.lastAuditSeal()
        if last == nil || now - last!.at >= sealEverySeconds || row.seq - last!.seq >= sealEveryRecords {
            try sealer.seal(row, writer: writer, now: now)
        }
        return row
    }

    /// Signs the current head if it is not sealed yet, after picking up an anchor another process moved and
    /// checking the head extends the trusted one. Returns the seal, or nil for an empty, sealed or broken log.
    @discardableResult
    static func sealHead(writer: any StoreWriter, sealer: AuditSealer, now: Int64) throws -> AuditSeal? {
        let head = try writer.auditHead()
        try sealer.refresh(writer: writer, head: head)
        try sealer.admit(head, writer: writer)
        guard let head else { return nil }
        if let last = try writer.lastAuditSeal(), last.seq == head.seq { return nil }
        return try sealer.seal(head, writer: writer, now: now)
    }

    /// An operator's decision recorded on top of whatever head the database holds (broken or not), sealed, and
    /// made the trusted head of a new epoch (`cvault audit accept`, `cvault restore --accept-rollback`).
    @discardableResult
    static func appendRebase(
        _ event: AuditEvent,
        to writer: any StoreWriter,
        sealer: AuditSealer,
        now: Int64
    ) throws -> AuditRow {
        let row = try write(event, after: try writer.auditHead(), to: writer)
        try sealer.rebase(on: row, writer: writer, now: now)
        return row
    }

    private static func write(_ event: AuditEvent, after head: AuditRow?, to writer: any StoreWriter) throws -> AuditRow
    {
        var event = event
        event.seq = (head?.seq ?? 0) + 1
        let body = event.canonicalJSON()
        let prev = head?.hash ?? genesis
        let row = AuditRow(
            seq: event.seq,
            prev: prev,
            hash: hash(prev: prev, body: body),
            body: body,
            subjectRefs: event.subjectRefBytes
        )
        try writer.appendAudit(row)
        return row
    }
}
