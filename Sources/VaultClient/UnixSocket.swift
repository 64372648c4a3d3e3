#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking connection to a Unix stream socket, for the callers that do not want SwiftNIO's
/// machinery: the server's "is a live server on this path" check, `cvault bench`'s load driver (one thread,
/// `poll(2)`, as wrk does) and the integration tests' byte-level clients. `VaultClient` itself connects
/// through SwiftNIO's `ClientBootstrap`.
public enum UnixSocket {
    /// Why a connection could not be made: the step that failed, and the `errno` it set.
    public struct ConnectError: Error, Sendable, CustomStringConvertible {
        public enum Step: Sendable {
            /// `socket(2)` failed (usually the open-files limit).
            case socket
            /// The path does not fit `sockaddr_un.sun_path` (107 bytes on Linux).
            case pathTooLong
            /// `connect(2)` failed: nothing listens there, or the caller may not connect.
            case connect
        }
        public let step: Step
        public let path: String
        /// The `errno` of the failed call, read at once; 0 for `.pathTooLong`.
        public let code: Int32

        public var description: String {
            switch step {
            case .socket: "socket() failed: errno \(code)"
            case .pathTooLong: "the socket path \(path) is too long"
            case .connect: "connect to \(path) failed: errno \(code)"
            }
        }
    }

    /// Connects a new close-on-exec stream socket to `path` and returns its descriptor, which the caller
    /// owns and closes. With `timeoutSeconds`, every receive and send on it waits at most that long (on
    /// Linux a Unix-socket connect waits with the send timeout too). On failure nothing is left open.
    public static func connect(_ path: String, timeoutSeconds: Int? = nil) throws(ConnectError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ConnectError(step: .socket, path: path, code: errno) }
        if let timeoutSeconds {
            var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw ConnectError(step: .pathTooLong, path: path, code: 0)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw ConnectError(step: .connect, path: path, code: code)
        }
        return fd
    }
}
