/// The part of tokenize that runs inside the store's write transaction: finds or creates the subject's data
/// key, makes each token (checking for collisions), seals each value and inserts its row.
struct TokenWriter: Sendable {
    let keyring: Keyring
    let kind: Kind
    let mode: TokenMode
    let subject: Subject
    let scope: Scope
    let limits: TokenLimits
    let now: Int64
    /// Where `keyring` came from: asked, before a new data key is wrapped, whether its active KEK is still
    /// the active one where the keyring is kept (`KeyringHolder.activeKEKIsCurrent`).
    let keys: KeyringHolder
    /// The kind's retention in seconds (`Policy.retention(for:)`), nil when kept until erased.
    var retention: Int64? = nil
    /// Draws a format-preserving token for a normalized value (nil: the kind has none). Always
    /// `TokenFormat.formatPreserving` outside tests, which replace it to force a collision; no input reaches it.
    var draw: @Sendable (Kind, String) -> String? = { TokenFormat.formatPreserving(kind: $0, normalized: $1) }

    /// Format-preserving tokens are redrawn on collision; this many collisions in a row means the token space
    /// is full (possible only for short cards), which is an error, never an overwrite.
    static let maxDraws = 16

    /// What `store` made: the tokens, in order, and the subject they were made for with its data key (which
    /// an idempotent call's stored answer is sealed under).
    struct Stored {
        var tokens: [String]
        var subject: SubjectRecord
        var dek: SecureBytes
    }

    func store(_ values: [String], in store: any StoreWriter) throws -> Stored {
        let (record, dek) = try subjectKey(store)
        var tokens: [String] = []
        tokens.reserveCapacity(values.count)
        for value in values {
            tokens.append(try insert(value, record: record, dek: dek, store: store))
        }
        return Stored(tokens: tokens, subject: record, dek: dek)
    }

    private func insert(
        _ value: String,
        record: SubjectRecord,
        dek: SecureBytes,
        store: any StoreWriter
    ) throws -> String {
        var token = ""
        var lookup: [UInt8] = []
        var carried: Int64?
        switch mode {
        case .opaque:
            // Carries its own row id, so it needs no collision check: no other row has this id.
            let id = try store.nextTokenID()
            guard id <= TokenFormat.maxCarriedID else { throw Self.idsExhausted }
            carried = id
            token = TokenFormat.opaque(id: id, key: keyring.addressKey)
            lookup = Binding.lookup(token: token, key: keyring.lookupKey)
        case .deterministic:
            token = TokenFormat.deterministic(kind: kind, scope: scope, normalized: value, key: keyring.activeTokenKey)
            lookup = Binding.lookup(token: token, key: keyring.lookupKey)
            let existing = try store.tokens(lookup: lookup)
            if let first = existing.first {
                // The token exists: the same value was tokenized before (by this subject or another). Confirm
                // it really is the same value, so a hash collision can never map two values to one token.
                guard try VaultCipher.matches(first, value: value, keyring: keyring) else { throw Self.collision }
                if let own = existing.first(where: { $0.subject.id == record.id }) {
                    // Past its retention the row is `not_found` until purged: the value given again starts its
                    // retention again, as a purge and a new row would, rather than answer a token that reveals
                    // nothing. A row within its retention is left as it is (no write on this path).
                    if let retention, Retention.isPast(createdAt: own.token.createdAt, retention: retention, now: now) {
                        try store.renewToken(id: own.token.id, createdAt: now)
                    }
                    return token
                }
            }
        case .formatPreserving:
            // Small token spaces (a card keeps its last four digits): redraw on collision.
            var draws = 0
            repeat {
                draws += 1
                guard draws <= Self.maxDraws else { throw Self.collision }
                guard let made = draw(kind, value) else {
                    throw VaultError(
                        .policy,
                        "\(kind.rawValue) has no format-preserving tokens",
                        hint: "set \(kind.rawValue) to opaque or deterministic in the policy's kinds:"
                    )
                }
                token = made
                lookup = Binding.lookup(token: token, key: keyring.lookupKey)
            } while try store.tokenExists(lookup: lookup)
        }
        let ad = Binding.value(
            lookup: lookup,
            subject: record.name,
            kind: kind,
            dekVersion: record.dekVersion,
            limits: limits
        )
        let sealed = XChaCha20Poly1305.seal(Array(value.utf8), ad: ad, key: dek)
        try store.insertToken(
            TokenRecord(
                id: try carried ?? store.nextTokenID(),
                addressing: carried == nil ? .lookup : .id,
                lookup: lookup,
                subjectID: record.id,
                kind: kind,
                mode: mode,
                sealed: sealed,
                limits: limits,
                createdAt: now
            )
        )
        return token
    }

    /// The subject's record and unwrapped data key, creating both for a new subject, and a new key for a
    /// subject that has none (known first by a consent decision, or whose last token retention removed). Runs
    /// inside the write transaction, so two concurrent first writes for one subject cannot make two keys.
    func subjectKey(_ store: any StoreWriter) throws -> (SubjectRecord, SecureBytes) {
        let known = try store.subject(named: subject.name)
        if let known, known.hasDataKey {
            return (known, try VaultCipher.dataKey(of: known, keyring: keyring))
        }
        guard try keys.activeKEKIsCurrent(keyring, in: store) else {
            // KeyringHolder.withCurrentKeys reloads the keyring and runs the request again; nothing was written.
            throw KeyringOutdated(
                answer: VaultError(
                    .sealed,
                    "the KEK was rotated while this request ran",
                    hint: "retried with the new keyring"
                )
            )
        }
        let dek = SecureBytes(randomCount: 32)
        let version = keyring.activeKEKVersion
        let wrapped = XChaCha20Poly1305.seal(
            dek,
            ad: Binding.wrappedKey(subject: subject.name, kekVersion: version),
            key: keyring.activeKEK
        )
        guard var record = known else {
            let id = try store.insertSubject(
                name: subject.name,
                kekVersion: version,
                dekVersion: 1,
                wrappedKey: wrapped
            )
            return (
                SubjectRecord(id: id, name: subject.name, kekVersion: version, dekVersion: 1, wrappedKey: wrapped), dek
            )
        }
        // A version above any the subject had: no value sealed under an earlier key can open under this one.
        record.dekVersion += 1
        record.kekVersion = version
        record.wrappedKey = wrapped
        try store.replaceDataKey(
            subjectID: record.id,
            kekVersion: version,
            dekVersion: record.dekVersion,
            wrappedKey: wrapped
        )
        return (record, dek)
    }

    // MARK: Idempotency

    /// The stored answer for this key, or nil if there is none or it is older than `lifetime` seconds (an
    /// expired key is a new one: the call runs again and its answer replaces the old record).
    func replay(_ store: any StoreWriter, keyHash: [UInt8], requestMAC: [UInt8], lifetime: Int64) throws -> [String]? {
        guard let stored = try store.idempotency(keyHash: keyHash), stored.createdAt > now - lifetime else {
            return nil
        }
        guard ConstantTime.equal(stored.requestMAC, requestMAC) else {
            // A request error about the key itself, not the rest of the request: the key is what to change.
            throw VaultError.invalidRequest(
                "the key was used for a different request",
                hint: "use a new idempotency key for a new request",
                field: .idempotencyKey
            )
        }
        // The MAC covers the subject's name, so this is the subject the answer was stored for; its id must
        // match too (ids are never reused), or the row was moved.
        guard let subject = try store.subject(named: self.subject.name), subject.id == stored.subjectID else {
            throw VaultError(
                .integrity,
                "a stored idempotent answer does not belong to its subject",
                hint: "the database was altered; run `cvault verify`"
            )
        }
        let dek = try VaultCipher.dataKey(of: subject, keyring: keyring)
        let ad = Binding.idempotentAnswer(keyHash: keyHash, subject: subject.name, dekVersion: subject.dekVersion)
        let plain = try XChaCha20Poly1305.open(stored.sealedResponse, ad: ad, key: dek)
        return String(decoding: plain, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Keeps the answer, sealed under the subject's data key, so erasing the subject shreds it with its values.
    func remember(_ stored: Stored, _ store: any StoreWriter, keyHash: [UInt8], requestMAC: [UInt8]) throws {
        let subject = stored.subject
        let ad = Binding.idempotentAnswer(keyHash: keyHash, subject: subject.name, dekVersion: subject.dekVersion)
        let sealed = XChaCha20Poly1305.seal(Array(stored.tokens.joined(separator: "\n").utf8), ad: ad, key: stored.dek)
        try store.putIdempotency(
            IdempotencyRecord(
                keyHash: keyHash,
                subjectID: subject.id,
                requestMAC: requestMAC,
                sealedResponse: sealed,
                createdAt: now
            )
        )
    }

    static let idsExhausted = VaultError(
        .internal,
        "this vault has issued all 2^40 opaque token ids",
        hint: "tokenize into a new vault; this one can still detokenize and erase"
    )

    static let collision = VaultError(
        .internal,
        "could not make a unique token after \(maxDraws) tries",
        hint: "use opaque tokens for this kind; its format-preserving space is nearly full"
    )
}
