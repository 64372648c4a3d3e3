import CVaultSystem
import Foundation

/// Starts one of the store's own threads (writer, readers, checkpointer), named from inside the thread with
/// `pthread_setname_np`. The names show in `top -H`, `perf` and debuggers; the kernel keeps at most 15 bytes.
///
/// Not through Foundation's `Thread.name`: on Linux its setter names the kernel thread only once the parent
/// has recorded the new thread's handle, which races with the thread's own start. A thread that won the race
/// kept the name it inherited from the thread that started it (a Swift concurrency worker,
/// `com.apple.root.default-qos`, cut to its last 15 bytes), which showed in a busy machine's test runs.
public func startStoreThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    precondition(name.utf8.count <= 15, "Linux thread names are at most 15 bytes")
    let thread = Thread {
        _ = cvault_set_thread_name(name)
        body()
    }
    thread.start()
}

/// The calling thread's name as the kernel has it (what `top -H` shows); for tests of where a job ran.
public func currentThreadName() -> String {
    var buffer = [CChar](repeating: 0, count: 16)
    guard cvault_get_thread_name(&buffer, UInt(buffer.count)) == 0 else { return "" }
    return String(cString: buffer)
}
