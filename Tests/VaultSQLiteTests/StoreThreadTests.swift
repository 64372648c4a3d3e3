import CVaultSystem
import Foundation
import Synchronization
import Testing
import VaultStoreRuntime

@testable import VaultSQLite

/// The store's threads carry their own names, whatever thread started them.
@Suite struct StoreThreadTests {
    /// Started from a thread with another name, every store thread still has its own. Foundation's
    /// `Thread.name` setter lost a race with the thread's start now and then, and the thread kept the name it
    /// inherited; this starts many, so a lost race shows.
    @Test func aStoreThreadIsNamedWhateverStartedIt() async throws {
        let names = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        let starts = 64
        let parent = Thread {
            _ = cvault_set_thread_name("not-a-store")
            for i in 0..<starts {
                startStoreThread(named: "cvault-t\(i)") {
                    names.withLock { $0.append(currentThreadName()) }
                    done.signal()
                }
            }
        }
        parent.start()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                for _ in 0..<starts { done.wait() }
                continuation.resume()
            }.start()
        }
        let seen = names.withLock { $0 }
        #expect(seen.count == starts)
        #expect(Set(seen) == Set((0..<starts).map { "cvault-t\($0)" }), "a thread kept another's name")
    }
}
