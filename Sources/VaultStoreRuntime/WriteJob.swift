import Synchronization
import VaultCore

/// One caller's `write`, as the writer thread sees it: the caller's closure and the continuation the caller
/// waits on. The writer runs it in its savepoint, then resumes it once with the group's fate.
public protocol WriteJob: Sendable {
    /// Runs the caller's closure against `writer` (inside the savepoint the writer opened for it), then
    /// `settle` (which reads the answers of statements the writer sent without waiting: their failure is the
    /// job's). True if both returned: its changes stay in the group and its caller waits for `finish`. False if
    /// either threw: its caller has been resumed with that error already, and the writer undoes its changes.
    func run(_ writer: any StoreWriter, settling settle: () throws -> Void) -> Bool
    /// Resumes a job that ran and was kept: with its value once the group committed (`groupError` nil), or with
    /// the error that lost the group.
    func finish(_ groupError: (any Error)?)
    /// Resumes a job that never ran, because its group could not start or broke before reaching it.
    func fail(_ error: any Error)
}

/// A `WriteJob` returning `T`. Each path resumes the continuation exactly once: `run` on a throw, else `finish`,
/// or `fail` alone for a job that never ran.
public final class StoreWrite<T: Sendable>: WriteJob {
    private let work: @Sendable (any StoreWriter) throws -> T
    private let continuation: CheckedContinuation<T, any Error>
    /// What `run` returned, held until the group commits. Set and taken on the writer thread; the lock only
    /// makes that visible to the compiler, and is never contended.
    private let value = Mutex<T?>(nil)

    public init(
        _ work: @escaping @Sendable (any StoreWriter) throws -> T,
        continuation: CheckedContinuation<T, any Error>
    ) {
        self.work = work
        self.continuation = continuation
    }

    public func run(_ writer: any StoreWriter, settling settle: () throws -> Void) -> Bool {
        do {
            let result = try work(writer)
            try settle()
            value.withLock { $0 = result }
            return true
        } catch {
            continuation.resume(throwing: error)
            return false
        }
    }

    public func finish(_ groupError: (any Error)?) {
        let result = value.withLock { value in
            defer { value = nil }
            return value
        }
        if let groupError {
            continuation.resume(throwing: groupError)
        } else if let result {
            continuation.resume(returning: result)
        } else {
            // Only a job whose `run` returned true is finished, so its value is there.
            continuation.resume(throwing: VaultError.groupLost)
        }
    }

    public func fail(_ error: any Error) { continuation.resume(throwing: error) }
}
