/// Progress of a rewrap, for a progress bar or `--json` records.
public struct RewrapProgress: Sendable, Equatable {
    /// Data keys moved to the active KEK by this run.
    public var done: Int
    /// Data keys still under an older KEK when this run started (the total to do).
    public var total: Int
    public var activeVersion: Int
}

extension Vault {
    /// How many data keys one rewrap transaction may move.
    public static let rewrapBatches = 1...10_000

    /// Re-wraps every data key held under an older KEK version with the active one, `batch` keys per short
    /// transaction, while the vault keeps serving. Resumable by construction: each batch commits on its
    /// own, and a later run simply finds the keys not yet under the active version, so a kill at any moment
    /// loses nothing and doubles nothing. Values are never touched: only the 32-byte wrapped keys change.
    @discardableResult
    public func rewrap(
        batch: Int = 500,
        caller: Caller?,
        uid: UInt32? = nil,
        progress: @Sendable (RewrapProgress) -> Void = { _ in }
    ) async throws(VaultError) -> RewrapProgress {
        guard Self.rewrapBatches.contains(batch) else {
            throw VaultError.invalidRequest(
                "the rewrap batch must be \(Self.rewrapBatches.lowerBound) to \(Self.rewrapBatches.upperBound)",
                hint: "the default is 500",
                field: .rewrapBatch
            )
        }
        let keyring = self.keyring
        let active = keyring.activeKEKVersion
        let stats = try await read { try $0.stats() }
        let total = stats.dataKeysByKEK.filter { $0.key != active }.values.reduce(0, +)
        var state = RewrapProgress(done: 0, total: total, activeVersion: active)
        try await audit(
            .keyRewrap,
            caller: caller,
            uid: uid,
            outcome: .started,
            detail: "\(total) data keys to KEK v\(active)"
        )
        progress(state)
        var after: Int64 = 0
        while true {
            let from = after
            let page = try await read { try $0.subjects(notWrappedBy: active, after: from, limit: batch) }
            guard let last = page.last else { break }
            let moved = try await write { writer -> Int in
                var moved = 0
                for subject in page {
                    let dek = try VaultCipher.dataKey(of: subject, keyring: keyring)
                    let wrapped = XChaCha20Poly1305.seal(
                        dek,
                        ad: Binding.wrappedKey(subject: subject.name, kekVersion: active),
                        key: keyring.activeKEK
                    )
                    try writer.updateWrappedKey(subjectID: subject.id, kekVersion: active, wrappedKey: wrapped)
                    moved += 1
                }
                return moved
            }
            after = last.id
            state.done += moved
            progress(state)
        }
        try await audit(
            .keyRewrap,
            caller: caller,
            uid: uid,
            detail: "\(state.done) data keys moved to KEK v\(active)"
        )
        return state
    }
}
