import Logging
import Synchronization

/// The keyring in force and the source it comes from, shared by every request and swapped whole when a change
/// made by another process (the CLI's `keys rotate`, `rewrap`, `retire`) is picked up.
///
/// Like `PolicyHolder`: a request takes `current` once and is served by that one keyring; a reload that fails
/// leaves the keyring in force untouched. Unlike the policy, a stale keyring can do harm before the next
/// reload (a new data key wrapped with a demoted KEK), so the holder also answers, cheaply and inside the
/// write transaction, whether the active KEK it holds is still the active one where the keyring is kept.
public final class KeyringHolder: Sendable {
    /// Where the keyring is kept.
    public let source: any KeyringSource
    private let logger: Logger
    /// The keyring in force.
    private let state: Mutex<Keyring>
    // Serialises reloads, so two at once (the server's pickup and a retrying request) cannot finish out of
    // order and leave an older generation in force. Separate from `state` so readers never wait for I/O.
    private let reloading = AsyncLock()

    public init(_ keyring: Keyring, logger: Logger) {
        self.source = keyring.source
        self.logger = logger
        self.state = Mutex(keyring)
    }

    /// The keyring in force now. Take it once per request, so one request is served by one keyring.
    public var current: Keyring { state.withLock { $0 } }

    /// Re-reads the keyring if another process changed it; the new generation is in force from now on and
    /// returned (nil: nothing changed). On failure the keyring in force stays.
    @discardableResult
    public func reloadIfChanged() async throws(VaultError) -> Int? {
        try await reloading.run { () async throws(VaultError) -> Int? in
            guard let fresh = try await current.reloadIfChanged() else { return nil }
            state.withLock { $0 = fresh }
            logger.info(
                "keyring reloaded",
                metadata: ["keyring.generation": "\(fresh.generation)", "kek.active": "\(fresh.activeKEKVersion)"]
            )
            return fresh.generation
        }
    }

    /// Whether `keyring`'s active KEK is still the active one where the keyring is kept. Asked inside the write
    /// transaction before a new subject's data key is wrapped (`TokenWriter.subjectKey`): a process that has
    /// not yet picked up a rotation made elsewhere must not wrap new keys with the demoted version, or a
    /// rewrap and retire that finish before it reloads would leave that subject unreadable.
    ///
    /// Why this check, and here, makes rewrap and retire safe across processes and hosts: `rewrap` moves every
    /// data key not under the active KEK, and `retire` destroys a version only when the store counts no data
    /// key under it. Both run after the rotation is stored. A data key wrapped by a stale process is therefore
    /// harmless if the rewrap sees it, and it sees every data key committed before its scan. The only danger
    /// is a transaction that checked "still active" before the rotation was stored and commits after the
    /// rewrap's scan. The file source rules it out with SQLite's single writer (the rewrap's writes wait for
    /// this transaction). The database source rules it out by reading the stored keyring inside this same
    /// transaction (`KeyringStore.keyringGeneration(in:)`), whose writes, the rotation's compare-and-set among
    /// them, are serialized across every server (PostgreSQL: one advisory transaction lock held by each write
    /// group until its commit): either this check already sees the rotation (and the request retries with the
    /// new keyring), or the rotation, and so the rewrap after it, come after this data key is committed. A
    /// check outside the transaction (the poll, a cached generation) would leave that window open.
    func activeKEKIsCurrent(_ keyring: Keyring, in writer: any StoreWriter) throws(VaultError) -> Bool {
        try source.isActiveKEK(keyring.activeKEKVersion, generation: keyring.generation, in: writer)
    }

    /// Runs `attempt` with the keyring in force; if it needed keys that keyring does not hold
    /// (`KeyringOutdated`: another process rotated, and may already have rewrapped data keys under the new
    /// version), re-reads the keyring and runs it once more. Nothing was written or revealed by the failed
    /// attempt: the missing key stops it before either. Any other error, or a second `KeyringOutdated`, is
    /// answered as the `VaultError` it stands for.
    func withCurrentKeys<T>(_ attempt: (Keyring) async throws -> T) async throws(VaultError) -> T {
        do {
            return try await attempt(current)
        } catch is KeyringOutdated {
            // Retry once whatever the reload says: the housekeeping task may have reloaded the keyring between
            // the failed attempt and here, and the second attempt takes the keyring in force now.
            try await reloadIfChanged()
        } catch {
            throw Vault.map(error)
        }
        do { return try await attempt(current) } catch { throw Vault.map(error) }
    }
}

/// Thrown inside one attempt of a call when that attempt's keyring may be older than the file: it lacks the
/// KEK version a data key is wrapped with, or its active KEK was demoted on disk. Never leaves the domain:
/// `KeyringHolder.withCurrentKeys` reloads and retries on it, and everywhere else (`Vault.map`) it is answered
/// as `answer`, the error a caller sees when the key really is not there.
struct KeyringOutdated: Error, Sendable {
    let answer: VaultError
}
