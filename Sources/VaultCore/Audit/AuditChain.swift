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
    /// if the last seal is old enough. Returns the stored row.
    @discardableResult
    static func append(_ event: AuditEvent, to writer: any StoreWriter, signer: Ed25519.SigningKey, now: Int64) throws -> AuditRow {
        let head = try writer.auditHead()
        var event = event
        event.seq = (head?.seq ?? 0) + 1
        let body = event.canonicalJSON()
        let prev = head?.hash ?? genesis
        let row = AuditRow(seq: event.seq, prev: prev, hash: hash(prev: prev, body: body), body: body)
        try writer.appendAudit(row)
        let last = try writer.lastAuditSeal()
        if last == nil || now - last!.at >= sealEverySeconds || row.seq - last!.seq >= sealEveryRecords {
            try seal(row, writer: writer, signer: signer, now: now)
        }
        return row
    }

    /// Signs the current head if it is not sealed yet. Returns the seal, or nil for an empty or sealed log.
    @discardableResult
    static func sealHead(writer: any StoreWriter, signer: Ed25519.SigningKey, now: Int64) throws -> AuditSeal? {
        guard let head = try writer.auditHead() else { return nil }
        if let last = try writer.lastAuditSeal(), last.seq == head.seq { return nil }
        return try seal(head, writer: writer, signer: signer, now: now)
    }

    @discardableResult
    private static func seal(_ row: AuditRow, writer: any StoreWriter, signer: Ed25519.SigningKey, now: Int64) throws -> AuditSeal {
        let seal = AuditSeal(seq: row.seq, hash: row.hash, signature: signer.sign(sealMessage(seq: row.seq, hash: row.hash)), at: now)
        try writer.appendAuditSeal(seal)
        return seal
    }
}
