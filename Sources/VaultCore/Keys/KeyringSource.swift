/// Where the sealed keyring is kept: a file in the keys folder (`FileKeyringSource`, the embedded default), or
/// the database every server shares (`StoreKeyringSource`, for a store that keeps it: `KeyringStore`).
///
/// A source holds only the sealed form (public metadata and ciphertext, `KeyringFile`); `Keyring` opens it
/// with the root key. What a source must promise:
/// - `write` never loses a change: two processes changing generation N cannot both store N+1. The file source
///   serialises whole changes (`exclusively` holds a lock across read, change and write); the database source
///   compares and sets (the second writer is refused and told to run its command again).
/// - `isActiveKEK`, asked inside a store write transaction, answers for the keyring as stored at that moment
///   of that transaction (`KeyringHolder.activeKEKIsCurrent` says why that is what keeps rewrap and retire
///   safe).
public protocol KeyringSource: Sendable {
    /// How messages name the keyring: its file's path, or the database it is kept in (never a password).
    var name: String { get }
    /// The audit anchor: a local file in the keys folder, beside each server (`AuditAnchor`), whichever
    /// source holds the keyring.
    var anchorPath: String { get }
    /// How often a server asks `changed(since:)`: what one ask costs decides it.
    var pickupInterval: Duration { get }
    /// The stored keyring. `.notInitialized` when there is none.
    func read() async throws(VaultError) -> KeyringFile
    /// The stored keyring when its generation is not `generation`, else nil: what a server polls.
    func changed(since generation: Int) async throws(VaultError) -> KeyringFile?
    /// Stores `file` in place of the keyring of generation `replacing`, or as the first one (nil), which is
    /// refused when one exists: cvault never overwrites a keyring it did not read.
    func write(_ file: KeyringFile, replacing generation: Int?) async throws(VaultError)
    /// Runs one read-change-write of the keyring so that no other process's change interleaves with it where
    /// `write` alone cannot refuse one.
    func exclusively<T>(_ change: () async throws(VaultError) -> T) async throws(VaultError) -> T
    /// Inside the write transaction of `writer`: whether KEK `version`, active in the keyring of `generation`
    /// held by this process, is still the active one as stored.
    func isActiveKEK(_ version: Int, generation: Int, in writer: any StoreWriter) throws(VaultError) -> Bool
}

extension VaultError {
    /// The keyring has no stored copy where `name` says.
    static func noKeyring(_ name: String) -> VaultError {
        VaultError(
            .notInitialized,
            "no keyring \(name)",
            hint: "run `cvault init` first, or pass the right --keys folder or --store"
        )
    }

    /// A change lost the race to another one stored first (`KeyringStore.storeKeyring`).
    public static func keyringChangedMeanwhile(stored: Int?, expected: Int?) -> VaultError {
        func text(_ generation: Int?) -> String { generation.map { "\($0)" } ?? "none" }
        return VaultError(
            .keyring,
            "the keyring was changed by another process while this change was made (generation \(text(stored)), "
                + "expected \(text(expected))); nothing was stored",
            hint: "run the command again: it starts from the keyring as it is now"
        )
    }
}
