import Foundation
import VaultJSON

extension Statement {
    /// Checks a statement file and returns what it says, or throws `.integrity` naming the first problem.
    ///
    /// In order: the size (at most `maxFileBytes`), JSON, the members and their forms, then the bytes: the
    /// file must be exactly the canonical form of what was parsed (so no edit, however harmless to the
    /// meaning, passes), then the signature must verify under the key the statement names, and, when
    /// `publicKey` is given, that key must be it. Without `publicKey` a valid answer proves only that the file
    /// is unchanged since that key signed it; the caller must compare the key with the vault's.
    public static func verify(fileBytes: [UInt8], publicKey expected: [UInt8]? = nil) throws(VaultError) -> Statement {
        guard fileBytes.count <= maxFileBytes else {
            throw notAuthentic(
                "the file is larger than a statement can be (over \(maxFileBytes) bytes): it is not one cvault issued"
            )
        }
        guard let parsed = JSONParser.parse(fileBytes) else {
            throw notAuthentic("the file is not JSON: it was truncated, garbled or is not a statement")
        }
        let (fields, signature) = try parse(parsed)
        let canonical = fields.fileBytes(signature: signature)
        if let offset = firstDifference(fileBytes, canonical) {
            throw notAuthentic("not in canonical form at byte \(offset): the file was edited")
        }
        guard Ed25519.verify(signature: signature, message: fields.signedMessage, publicKey: fields.publicKey) else {
            throw notAuthentic("the signature does not match: the statement was changed or signed by another key")
        }
        if let expected, expected != fields.publicKey {
            throw notAuthentic(
                "signed by key \(Hex.encode(fields.publicKey)), not the expected \(Hex.encode(expected))"
            )
        }
        return Statement(fields, signature: signature, fileBytes: fileBytes)
    }

    /// `verify` of the file at `path`, read up to one byte past `maxFileBytes` (a larger file is refused
    /// without reading it whole). Throws `.notInitialized` if the file cannot be read.
    public static func verify(contentsOf path: String, publicKey: [UInt8]? = nil) throws(VaultError) -> Statement {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw VaultError(
                .notInitialized,
                "cannot read statement file \(path)",
                hint: "check that it exists and that you may read it"
            )
        }
        defer { try? handle.close() }
        let data: Data?
        do {
            data = try handle.read(upToCount: maxFileBytes + 1)
        } catch {
            throw FileSafety.ioError("read", path, error)
        }
        return try verify(fileBytes: [UInt8](data ?? Data()), publicKey: publicKey)
    }

    /// The members of a parsed document, each in the only form cvault writes, and its signature.
    private static func parse(_ document: JSONValue) throws(VaultError) -> (Fields, [UInt8]) {
        guard case .object(let members) = document else { throw notAuthentic("the file is not a JSON object") }
        guard members[Member.format]?.stringValue == format else {
            throw notAuthentic("the file is not a \(format) statement (its format member is missing or different)")
        }
        if let extra = Set(members.keys).subtracting(Member.all).sorted().first {
            throw notAuthentic("the statement has a member \"\(extra)\" that cvault never writes: it was edited")
        }
        if let missing = Member.all.subtracting(members.keys).sorted().first {
            throw notAuthentic("the statement has no \"\(missing)\" member: it was edited or truncated")
        }
        let typeName = members[Member.type]?.stringValue ?? ""
        guard let category = Category(rawValue: typeName) else {
            throw notAuthentic(
                "unknown statement type \"\(typeName)\"; this cvault knows "
                    + Category.allCases.map(\.rawValue).joined(separator: ", ")
            )
        }
        guard let issued = members[Member.issuedAt]?.stringValue, let issuedAt = AuditVerifier.seconds(issued) else {
            throw notAuthentic("issued_at is not an RFC 3339 time")
        }
        let publicKey = try hexMember(members[Member.publicKey], Member.publicKey, bytes: Ed25519.publicKeyBytes)
        let signature = try hexMember(members[Member.signature], Member.signature, bytes: Ed25519.signatureBytes)
        guard case .object(let head)? = members[Member.auditHead], head.count == 2,
            let seq = head[Member.seq]?.intValue,
            seq >= 1
        else {
            throw notAuthentic("audit_head must be an object of a record's seq (at least 1) and hash")
        }
        let hash = try hexMember(head[Member.hash], "audit_head.hash", bytes: 32)
        guard let bodyValue = members[Member.body], case .object = bodyValue else {
            throw notAuthentic("body is not a JSON object")
        }
        let body: Body
        do {
            body = try Body(bodyValue)
        } catch {
            throw notAuthentic("the body is not one cvault writes: \(error.message)")
        }
        let fields = Fields(
            category: category,
            issuedAt: issuedAt,
            publicKey: publicKey,
            head: AuditSealer.Head(seq: seq, hash: hash),
            body: body
        )
        return (fields, signature)
    }

    private static func hexMember(_ value: JSONValue?, _ name: String, bytes: Int) throws(VaultError) -> [UInt8] {
        guard let text = value?.stringValue, let decoded = Hex.decode(text), decoded.count == bytes else {
            throw notAuthentic("\(name) is not \(bytes * 2) hex digits")
        }
        return decoded
    }

    /// The offset (from 0) of the first byte where `a` and `b` differ or the shorter one ends; nil if equal.
    private static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
        let common = min(a.count, b.count)
        if let index = (0..<common).first(where: { a[$0] != b[$0] }) { return index }
        return a.count == b.count ? nil : common
    }

    private static func notAuthentic(_ problem: String) -> VaultError {
        VaultError(
            .integrity,
            "the statement is not authentic: \(problem)",
            hint: "ask the vault's operator for the statement as it was issued"
        )
    }
}
