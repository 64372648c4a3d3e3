import NIOCore

/// Runs a task's jobs on one SwiftNIO event loop.
///
/// A request is handled by a task that prefers its connection's event loop: the JSON work runs on the
/// thread that read the line, and when the store's writer or reader thread resumes the task it goes straight
/// back to that loop, which then writes the answer. Without it, every request crossed threads twice more
/// (event loop → cooperative pool → store thread → cooperative pool → event loop), each crossing a thread
/// wake-up; on two cores those hops cost more CPU than the request's own work.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
