import Foundation

/// Starts one of the store's own threads (writer, readers, checkpointer). Named from inside the thread: on
/// Linux, Foundation does not apply a name set before `start()`, and the kernel keeps at most 15 bytes of it.
/// The names show in `top -H`, `perf` and debuggers.
func startStoreThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    precondition(name.utf8.count <= 15, "Linux thread names are at most 15 bytes")
    let thread = Thread {
        Thread.current.name = name
        body()
    }
    thread.start()
}
