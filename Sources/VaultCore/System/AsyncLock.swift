import Synchronization

/// Mutual exclusion across suspension points, first come first served: what a `Mutex` cannot give to work
/// that awaits (a keyring reload that reads the database). Waiters are not cancellable; hold it only for
/// short work that ends by itself.
final class AsyncLock: Sendable {
    private let state = Mutex<(locked: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func run<T>(_ body: () async throws(VaultError) -> T) async throws(VaultError) -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        if state.withLock({ Self.take(&$0.locked) }) { return }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let taken = state.withLock { state in
                if Self.take(&state.locked) { return true }
                state.waiters.append(waiter)
                return false
            }
            if taken { waiter.resume() }
        }
    }

    /// Hands the lock to the first waiter (it stays locked), or unlocks it.
    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }

    private static func take(_ locked: inout Bool) -> Bool {
        guard !locked else { return false }
        locked = true
        return true
    }
}
