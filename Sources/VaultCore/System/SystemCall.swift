import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// POSIX calls that swift-system does not wrap (`fsync`, `fchmod`, `flock`, `link`, `rename`), run the way
/// swift-system runs its own (and swift-nio its `syscall(blocking:_:)`): retried on EINTR, and a failure
/// thrown at once as the `Errno` the call itself set, before any other call (a `close`, an `unlink` while
/// cleaning up) can overwrite `errno`.
package enum SystemCall {
    /// Runs `call`, which returns -1 and sets `errno` on failure, until it is not interrupted.
    @discardableResult
    package static func run(_ call: () -> CInt) throws(Errno) -> CInt {
        while true {
            let result = call()
            if result != -1 { return result }
            let error = Errno(rawValue: errno)
            if error != .interrupted { throw error }
        }
    }
}
