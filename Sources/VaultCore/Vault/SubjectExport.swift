import VaultJSON

/// A subject's values handed to it (GDPR Art. 20, portability): every token the subject holds, each with its
/// value in plain or why it was not exported.
public struct SubjectExport: Sendable, Equatable {
    public var subject: Subject
    public var purpose: Purpose
    /// One per token held, by row id (the order of the access report's `tokens`).
    public var items: [Item]

    public struct Item: Sendable, Equatable {
        /// The token's name in the access report (`row:` + hex, `Binding.tokenReference`); never the token.
        public var reference: String
        public var kind: Kind
        public var tokenType: TokenMode
        /// Unix seconds.
        public var createdAt: Int64
        /// The value (always `plain`), or why not: `denied` (the policy does not grant the kind plain for the
        /// purpose, or the token's own limits refuse), `not_found` (expired, or gone since), `restricted`,
        /// `no_consent`, `integrity`.
        public var result: RevealItem
    }
}

extension Vault {
    /// Every value of `subject`, in plain, to `caller` for `purpose` (by convention `subject-access`), through
    /// the same gate as a reveal (`DetokenizeCall`, with the subject's rows as its addresses): the policy's
    /// decision per kind, each token's own limits, the reveal rate and the miss budget, consent and
    /// restriction. A kind the policy grants only masked for the purpose is not exported (`denied` for that
    /// token). Audited as one `subject_export` record concerning the subject, with one item per token like a
    /// detokenize's (tokens named by their report reference), durable before anything is returned.
    public func export(subject: Subject, purpose: Purpose, caller: Caller) async throws(VaultError) -> SubjectExport {
        try await keys.withCurrentKeys { keyring in
            try await self.export(subject: subject, purpose: purpose, caller: caller, keyring: keyring)
        }
    }

    /// One attempt of `export` with `keyring` (`KeyringHolder.withCurrentKeys`).
    private func export(
        subject: Subject,
        purpose: Purpose,
        caller: Caller,
        keyring: Keyring
    ) async throws -> SubjectExport {
        try auditSealer.requireIntact()
        let tokens = try await store.read { reader in
            guard let row = try reader.subject(named: subject.name) else { return [TokenRecord]() }
            return try reader.tokens(subjectID: row.id)
        }
        let key = BLAKE2b.deriveKey(from: keyring.lookupKey, label: Binding.tokenReferenceKeyLabel)
        let addresses = tokens.map { row in
            DetokenizeCall.Address(row: row, reference: Binding.tokenReference(id: row.id, key: key))
        }
        let call = detokenizeCall(
            addresses,
            purpose: purpose,
            caller: caller,
            policy: policy,
            keyring: keyring,
            export: subject
        )
        // The rows are looked up again in the call's read: one erased or expired since is `not_found`.
        let answered = try await readThenWriteUnmapped(items: tokens.count, read: call.lookUp, write: call.record)
        let results = try answered.get()
        let items = zip(zip(tokens, addresses), results).map { pair, result in
            SubjectExport.Item(
                reference: pair.1.reference,
                kind: pair.0.kind,
                tokenType: pair.0.mode,
                createdAt: pair.0.createdAt,
                result: result
            )
        }
        return SubjectExport(subject: subject, purpose: purpose, items: items)
    }
}

extension SubjectExport {
    /// The export as the protocol and `cvault subject export` write it: `subject`, `purpose`, and one item per
    /// token with its report reference, kind, token type, creation time, and `value` or `error`.
    public var json: JSONValue {
        .object([
            "subject": .string(subject.name),
            "purpose": .string(purpose.name),
            "items": .array(items.map(\.json)),
        ])
    }
}

extension SubjectExport.Item {
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "reference": .string(reference),
            "kind": .string(kind.rawValue),
            "token_type": .string(tokenType.rawValue),
            "created_at": .string(RFC3339.format(createdAt)),
        ]
        switch result {
        case .value(let value, _): members["value"] = .string(value)
        case .error(let failure): members["error"] = .string(failure.rawValue)
        }
        return .object(members)
    }
}
