import Synchronization
import VaultCore

/// A clock the test moves by hand (token expiry, audit times, seal intervals), so what happens when is decided
/// by the test, not by timing. Starts at a fixed, recent instant.
public final class TestClock: Sendable {
    private let seconds: Mutex<Int64>
    public init(_ start: Int64 = 1_800_000_000) { seconds = Mutex(start) }
    public var now: Int64 { seconds.withLock { $0 } }
    public func advance(by delta: Int64) { seconds.withLock { $0 += delta } }
    /// The vault's view of this clock.
    public var vaultClock: VaultClock { VaultClock { [self] in self.now } }
}
