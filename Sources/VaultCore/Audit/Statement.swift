import VaultJSON

/// A signed statement: a document the vault gives a customer or a regulator (an access report, an erasure
/// receipt) that names the audit head it covers and is signed with the vault's audit key, so that anyone
/// holding only the file can check, offline, that it is exactly what the vault issued (docs/AUDIT.md, "Signed
/// statements"; `cvault statement verify`).
///
/// The file is one JSON object in cvault's canonical form (members sorted by name, laid out for people by
/// `JSONWriter`'s `.foundation` and `.prettyPrinted` options, one line end at the end):
/// `format` (`cvault-statement-v1`), `type`, `issued_at` (RFC 3339, UTC), `public_key` (the audit key, hex),
/// `audit_head` (`seq` and `hash` of the audit record the statement covers), `body`, and `signature`.
///
/// Why Ed25519 with the audit key: it is the key that already seals the audit chain (`AuditChain`), whose
/// public half an operator publishes and a reviewer pins (`cvault keys list`), so a statement and the log it
/// speaks of are vouched for by one key a customer can compare; Ed25519 signatures are deterministic (no
/// per-signature randomness to get wrong) and need no secret to verify. Why domain separation: the same key
/// signs seals and anchors, so the signed message starts with `"cvault.statement.v1" || 0x00`, a prefix no
/// seal or anchor message has; a signature made for one can never be replayed as the other.
///
/// What is signed is the canonical compact form of the document without its `signature` member. Since a
/// verifier also refuses a file that is not byte for byte in canonical form, any change to the file fails:
/// an edited character, added whitespace, a re-ordered member, a different escape, as well as a change of
/// meaning.
///
/// A statement never holds a value, a mask, a token or key material: its body is built only by vault code
/// (`Body`'s builders are internal to the domain), from public facts (kinds, counts, times, identities,
/// purposes) and keyed references, and the only key in it is the audit key's public half.
public struct Statement: Sendable, Equatable {
    /// The statement type; the raw values are the words in the file's `type` member.
    public enum Category: String, Sendable, Equatable, CaseIterable {
        /// A customer's access report (GDPR Art. 15): what the vault holds of a subject and every disclosure.
        case accessReport = "access_report"
        /// The proof of an erasure (GDPR Art. 17): what was destroyed, and the audit record of it.
        case erasureReceipt = "erasure_receipt"

        /// The type in words, for people ("access report").
        public var words: String { rawValue.replacing("_", with: " ") }
    }

    /// The format tag, the file's `format` member.
    public static let format = "cvault-statement-v1"
    /// The first bytes of every signed message (followed by one zero byte).
    static let signatureDomain = "cvault.statement.v1"
    /// The largest file a statement may be. `issue` refuses a body that would not fit, so a larger file is not
    /// one the vault wrote, and a verifier stops reading there.
    public static let maxFileBytes = 64 * 1024 * 1024
    /// How deep a body's containers may nest (the body itself is depth 1), well inside the parser's limit.
    public static let maxBodyDepth = 32

    public let category: Category
    /// Unix seconds, whole (the file holds them as RFC 3339).
    public let issuedAt: Int64
    /// The audit public key that signed it (32 bytes).
    public let publicKey: [UInt8]
    /// The audit record the statement covers: its seq and hash.
    public let head: AuditSealer.Head
    public let body: Body
    /// The Ed25519 signature (64 bytes) over `signedMessage`.
    public let signature: [UInt8]
    /// The file, exactly as `cvault` writes it and `verify` accepts it.
    public let fileBytes: [UInt8]

    /// Signs `body` as a statement of `category` covering `head` (the audit record the statement speaks for:
    /// the last one a report read, the erase's own record for a receipt), issued at `now`, with `keyring`'s
    /// audit key. Throws `.tooLarge` if the file would pass `maxFileBytes`.
    static func issue(
        type category: Category,
        body: Body,
        head: AuditRow,
        at now: Int64,
        keyring: Keyring
    ) throws(VaultError) -> Statement {
        let signer = keyring.auditSigner
        let unsigned = Fields(
            category: category,
            issuedAt: now,
            publicKey: signer.publicKey,
            head: AuditSealer.Head(seq: head.seq, hash: head.hash),
            body: body
        )
        let signature = signer.sign(unsigned.signedMessage)
        let file = unsigned.fileBytes(signature: signature)
        guard file.count <= maxFileBytes else {
            throw VaultError(
                .tooLarge,
                "the statement would be \(file.count) bytes; a statement is at most \(maxFileBytes)",
                hint: "statements are capped so that a verifier can refuse a larger file without reading it"
            )
        }
        return Statement(unsigned, signature: signature, fileBytes: file)
    }

    init(_ fields: Fields, signature: [UInt8], fileBytes: [UInt8]) {
        category = fields.category
        issuedAt = fields.issuedAt
        publicKey = fields.publicKey
        head = fields.head
        body = fields.body
        self.signature = signature
        self.fileBytes = fileBytes
    }

    /// The members of a statement except its signature: what is signed, and what the file is written from.
    struct Fields {
        var category: Category
        var issuedAt: Int64
        var publicKey: [UInt8]
        var head: AuditSealer.Head
        var body: Body

        /// `"cvault.statement.v1" || 0x00 || ` the compact canonical JSON of these members.
        var signedMessage: [UInt8] {
            var message = Array(Statement.signatureDomain.utf8)
            message.append(0)
            var json = JSONWriter(options: .foundation)
            json.value(document(signature: nil))
            return message + json.bytes
        }

        /// The file: the canonical, pretty-printed document with its signature, and a line end.
        func fileBytes(signature: [UInt8]) -> [UInt8] {
            var json = JSONWriter(options: [.foundation, .prettyPrinted])
            json.value(document(signature: signature))
            json.bytes.append(0x0A)
            return json.bytes
        }

        private func document(signature: [UInt8]?) -> JSONValue {
            var members: [String: JSONValue] = [
                Member.format: .string(Statement.format),
                Member.type: .string(category.rawValue),
                Member.issuedAt: .string(RFC3339.format(issuedAt)),
                Member.publicKey: .string(Hex.encode(publicKey)),
                Member.auditHead: .object([Member.seq: .int(head.seq), Member.hash: .string(Hex.encode(head.hash))]),
                Member.body: body.json,
            ]
            if let signature { members[Member.signature] = .string(Hex.encode(signature)) }
            return .object(members)
        }
    }

    /// The members' names in the file.
    enum Member {
        static let format = "format"
        static let type = "type"
        static let issuedAt = "issued_at"
        static let publicKey = "public_key"
        static let auditHead = "audit_head"
        static let seq = "seq"
        static let hash = "hash"
        static let body = "body"
        static let signature = "signature"
        static let all: Set<String> = [format, type, issuedAt, publicKey, auditHead, body, signature]
    }
}

extension Statement {
    /// A statement's body: a JSON object of the report's or receipt's content.
    ///
    /// Read by anyone; built only inside the domain (the builders are internal), by the code that makes a
    /// report or a receipt from public facts and keyed references, never from a value, a mask, a token or a
    /// key. Numbers are integers (a fraction would have more than one spelling, and the file must have one);
    /// containers nest at most `Statement.maxBodyDepth` deep. Members are written sorted by name.
    public struct Body: Sendable, Equatable {
        public private(set) var members: [String: JSONValue]

        /// An empty body.
        init() { members = [:] }

        /// A body of `object`'s members; refuses anything but an object, a fraction or too deep a nesting.
        init(_ object: JSONValue) throws(VaultError) {
            guard case .object(let members) = object else {
                throw VaultError(.invalidRequest, "a statement body must be a JSON object")
            }
            try Self.check(object, depth: 1)
            self.members = members
        }

        public subscript(name: String) -> JSONValue? { members[name] }

        /// The body as one JSON object.
        public var json: JSONValue { .object(members) }

        /// One line for people: the subject the statement is about (a body's `subject` member, by convention)
        /// and how many items each list holds, in name order ("subject \"cust-42\"; 12 disclosures, 3 tokens").
        public var summary: String {
            let subject = members["subject"]?.stringValue.map { "subject \(JSONValue.string($0))" }
            let lists = members.compactMap { name, value -> (String, Int)? in
                if case .array(let items) = value { return (name, items.count) }
                return nil
            }
            .sorted { $0.0 < $1.0 }
            .map { "\($0.1) \($0.0.replacing("_", with: " "))" }
            let parts = [subject, lists.isEmpty ? nil : lists.joined(separator: ", ")].compactMap { $0 }
            return parts.isEmpty ? "\(members.count) members" : parts.joined(separator: "; ")
        }

        /// Sets `name` to `value` (refused if it holds a fraction or nests too deep).
        mutating func set(_ name: String, _ value: JSONValue) throws(VaultError) {
            try Self.check(value, depth: 2)
            members[name] = value
        }

        mutating func set(_ name: String, _ value: String) { members[name] = .string(value) }
        mutating func set(_ name: String, _ value: Int64) { members[name] = .int(value) }
        mutating func set(_ name: String, _ value: Int) { members[name] = .int(Int64(value)) }
        mutating func set(_ name: String, _ value: Bool) { members[name] = .bool(value) }
        mutating func set(_ name: String, _ value: [String]) { members[name] = .array(value.map(JSONValue.string)) }
        /// A nested object, itself built as a body (so already checked), at one level deeper.
        mutating func set(_ name: String, _ value: Body) throws(VaultError) { try set(name, value.json) }
        /// A list of objects, each built as a body.
        mutating func set(_ name: String, _ value: [Body]) throws(VaultError) {
            try set(name, .array(value.map(\.json)))
        }

        /// Refuses a fraction anywhere in `value`, or containers nested past `maxBodyDepth` (`depth` is
        /// `value`'s own level, the body's being 1). Iterative, so a deep value cannot exhaust the stack.
        static func check(_ value: JSONValue, depth: Int) throws(VaultError) {
            var pending: [(value: JSONValue, level: Int)] = [(value, depth)]
            while let item = pending.popLast() {
                let level = item.level
                switch item.value {
                case .double:
                    throw VaultError(
                        .invalidRequest,
                        "a statement body holds only whole numbers",
                        hint: "write the quantity in a whole unit (seconds, bytes, a count)"
                    )
                case .array(let items):
                    try within(level)
                    pending += items.map { ($0, level + 1) }
                case .object(let members):
                    try within(level)
                    pending += members.values.map { ($0, level + 1) }
                case .null, .bool, .int, .string: break
                }
            }
        }

        private static func within(_ level: Int) throws(VaultError) {
            guard level <= Statement.maxBodyDepth else {
                throw VaultError(
                    .invalidRequest,
                    "a statement body nests deeper than \(Statement.maxBodyDepth) levels"
                )
            }
        }
    }
}

extension Vault {
    /// Signs `body` as a statement of `category` covering the audit record `head`, with the audit key of the
    /// keyring in force, issued now. The report and receipt code call it once their content is read or their
    /// audit record written: `head` is the record the statement speaks for (for a receipt, the erase's own
    /// record; for a report, the last record the report read).
    public func issueStatement(
        _ category: Statement.Category,
        body: Statement.Body,
        covering head: AuditRow
    ) throws(VaultError) -> Statement {
        try Statement.issue(type: category, body: body, head: head, at: clock.now(), keyring: keys.current)
    }
}
