import CSodium

/// The one place libsodium is initialised. Every wrapper in this folder calls `Sodium.ensureReady()`
/// first; `sodium_init` is idempotent and thread-safe, and a lazy `static let` runs it exactly once.
enum Sodium {
    private static let ready: Bool = sodium_init() >= 0

    static func ensureReady() {
        // libsodium fails to initialise only when the system has no usable entropy source; nothing
        // that follows would be safe, so this is the one place cvault stops the process.
        precondition(ready, "libsodium could not initialise (no entropy source?)")
    }

    /// libsodium's version string, for `health` and `status`.
    static var version: String {
        ensureReady()
        return String(cString: sodium_version_string())
    }
}
