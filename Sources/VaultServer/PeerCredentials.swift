import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Glibc's `struct ucred` (pid, uid, gid), which Swift cannot see because it sits behind `_GNU_SOURCE`.
/// Same layout: three 32-bit fields, 12 bytes.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0

    /// Reads SO_PEERCRED from an accepted Unix-socket channel: the kernel's record of who connected, which no
    /// request can change. Nil if the channel cannot say (then the connection is refused).
    static func of(_ channel: Channel) -> EventLoopFuture<PeerCredentials?> {
        guard let provider = channel as? SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        return provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
            .map { (credentials: PeerCredentials) in Optional(credentials) }
            .recover { _ in nil }
    }
}
