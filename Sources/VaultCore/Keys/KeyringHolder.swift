import Logging
import Synchronization

/// The keyring in force and the file it comes from, shared by every request and swapped whole when a change
/// made by another process (the CLI's `keys rotate`, `rewrap`, `retire`) is picked up.
///
/// Like `PolicyHolder`: a request takes `current` once and is served by that one keyring; a reload that fails
/// leaves the keyring in force untouched. Unlike the policy, a stale keyring can do harm before the next
/// reload (a new data key wrapped with a demoted KEK), so the holder also answers, cheaply and inside the
/// write transaction, whether the active KEK it holds is still the active one on disk.
public final class KeyringHolder: Sendable {
    /// The keyring file.
    public let path: String
    private let logger: Logger
    /// The keyring in force, and the file's stamp when it was last seen to hold that keyring's active KEK
    /// (nil: not known, so the next `activeKEKIsCurrent` reads the file).
    private let state: Mutex<(keyring: Keyring, stamp: FileStamp?)>
    // Serialises reloads, so two at once (the server's once-a-second pickup and a retrying request) cannot
    // finish out of order and leave an older generation in force. Separate from `state` so readers never
    // wait for file I/O.
    private let reloading = Mutex<Void>(())

    public init(_ keyring: Keyring, logger: Logger) {
        self.path = keyring.path
        self.logger = logger
        self.state = Mutex((keyring, FileStamp.of(keyring.path)))
    }

    /// The keyring in force now. Take it once per request, so one request is served by one keyring.
    public var current: Keyring { state.withLock { $0.keyring } }

    /// Re-reads the keyring file if another process changed it; the new generation is in force from now on
    /// and returned (nil: nothing changed). On failure the keyring in force stays.
    @discardableResult
    public func reloadIfChanged() throws(VaultError) -> Int? {
        try reloading.withLock { _ throws(VaultError) -> Int? in
            let stamp = FileStamp.of(path)
            guard let fresh = try current.reloadIfChanged() else { return nil }
            state.withLock { $0 = (fresh, stamp) }
            logger.info(
                "keyring reloaded",
                metadata: ["keyring.generation": "\(fresh.generation)", "kek.active": "\(fresh.activeKEKVersion)"]
            )
            return fresh.generation
        }
    }

    /// Whether `keyring`'s active KEK is still the active one on disk. Asked inside the write transaction
    /// before a new subject's data key is wrapped (`TokenWriter.subjectKey`): a server that has not yet picked
    /// up a rotation made by the CLI must not wrap new keys with the demoted version, or a rewrap and retire
    /// that finish before it reloads would leave that subject unreadable. One `stat` when nothing changed; a
    /// rewrap cannot run while this transaction holds the write lock, so it always sees (and moves) what this
    /// wraps.
    func activeKEKIsCurrent(_ keyring: Keyring) throws(VaultError) -> Bool {
        let stamp = FileStamp.of(keyring.path)
        if stamp != nil, stamp == state.withLock({ $0.stamp }) { return true }
        let onDisk = try KeyringFile.read(at: keyring.path)
        guard onDisk.activeKEK?.version == keyring.activeKEKVersion else { return false }
        state.withLock { $0.stamp = stamp }
        return true
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
            try reloadIfChanged()
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
