import NIOCore
import Synchronization

/// Counts open connections and running requests, so shutdown can stop accepting, let requests in flight
/// finish, and know when everything is answered.
final class ConnectionTracker: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: (Channel, ConnectionHandler)] = [:]
        var running = 0
        var draining = false
    }
    private let state = Mutex(State())

    var isDraining: Bool { state.withLock { $0.draining } }
    var openConnections: Int { state.withLock { $0.channels.count } }
    var runningRequests: Int { state.withLock { $0.running } }

    func requestStarted() { state.withLock { $0.running += 1 } }
    func requestFinished() { state.withLock { $0.running -= 1 } }

    func opened(_ channel: Channel, _ handler: ConnectionHandler) {
        state.withLock { $0.channels[ObjectIdentifier(channel)] = (channel, handler) }
        channel.closeFuture.whenComplete { _ in
            self.state.withLock { _ = $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    /// Stops every connection reading and closes each once its received lines are answered.
    func drainAll() {
        let all = state.withLock { s -> [(Channel, ConnectionHandler)] in
            s.draining = true
            return Array(s.channels.values)
        }
        for (channel, handler) in all {
            channel.eventLoop.execute { handler.drain(channel) }
        }
    }
}
