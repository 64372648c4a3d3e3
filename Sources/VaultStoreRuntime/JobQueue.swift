import Dispatch
import Synchronization

/// A queue of jobs consumed by the store's own blocking threads (the writer, or the reader workers).
///
/// Producers are async callers on Swift's cooperative pool: `enqueue` only takes a mutex for a moment and
/// never blocks. Consumers block in `take` on a semaphore. The semaphore is signalled only for a consumer that
/// has announced it is going to sleep (`sleepers`), so a burst of 64 enqueues wakes the writer once, not 64
/// times, and the writer then takes the whole burst as one group.
public final class JobQueue<Job: Sendable>: Sendable {
    private struct State {
        var jobs: [Job] = []
        /// Consumers that found the queue empty and are waiting (or about to wait) on the semaphore.
        var sleepers = 0
        var closed = false
    }

    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)

    /// Queues a job; false if the queue is closed (the job was not queued).
    public init() {}

    public func enqueue(_ job: Job) -> Bool {
        let outcome: Bool? = state.withLock { state in
            guard !state.closed else { return nil }
            state.jobs.append(job)
            guard state.sleepers > 0 else { return false }
            state.sleepers -= 1
            return true
        }
        guard let wake = outcome else { return false }
        if wake { wakeup.signal() }
        return true
    }

    /// Blocks until there is work, then returns up to `limit` jobs in queue order; nil once the queue is
    /// closed and empty (jobs queued before `close` are still handed out: closing drains).
    public func take(limit: Int) -> [Job]? {
        while true {
            // .some(jobs) to return, .some(nil) for "closed and drained", nil to wait.
            let taken: [Job]?? = state.withLock { state in
                if !state.jobs.isEmpty {
                    if state.jobs.count <= limit {
                        defer { state.jobs = [] }
                        return .some(state.jobs)
                    }
                    defer { state.jobs.removeFirst(limit) }
                    return .some(Array(state.jobs.prefix(limit)))
                }
                if state.closed { return .some(nil) }
                state.sleepers += 1
                return nil
            }
            if let taken { return taken }
            wakeup.wait()
        }
    }

    /// Jobs waiting to be taken (tests wait on it to know a group is queued, instead of sleeping).
    public var count: Int { state.withLock { $0.jobs.count } }

    /// Refuses new jobs and wakes every sleeping consumer so it can drain the queue and stop.
    public func close() {
        let sleepers = state.withLock { state in
            state.closed = true
            defer { state.sleepers = 0 }
            return state.sleepers
        }
        for _ in 0..<sleepers { wakeup.signal() }
    }
}

/// Lets async code wait for something that happens once on a store thread (a thread finishing).
public final class Latch: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Opens the latch and resumes every waiter, now and later.
    public init() {}

    public func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    public func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
