import NIOCore
import Synchronization

/// Counts open connections (in all and per uid) and running requests: admission checks the connection
/// caps, and shutdown can stop accepting, let requests in flight finish, and know when everything is
/// answered.
final class ConnectionTracker: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: (Channel, ConnectionHandler)] = [:]
        var perUID: [UInt32: Int] = [:]
        var running = 0
        var draining = false
    }
    private let state = Mutex(State())

    var isDraining: Bool { state.withLock { $0.draining } }
    var openConnections: Int { state.withLock { $0.channels.count } }
    var runningRequests: Int { state.withLock { $0.running } }

    func requestStarted() { state.withLock { $0.running += 1 } }
    func requestFinished() { state.withLock { $0.running -= 1 } }

    /// Why a connection was refused: the cap it would pass, and its name in the error's `data.field`.
    struct Refusal: Sendable {
        var limit: Int
        var field: String
    }

    /// Counts `channel` in, unless it would pass `maxConnections` in all or `maxPerUID` for `uid`; then
    /// nothing is counted and the refusal says which cap. The count is released when the channel closes.
    func admit(
        _ channel: Channel,
        _ handler: ConnectionHandler,
        uid: UInt32,
        maxConnections: Int,
        maxPerUID: Int
    ) -> Refusal? {
        let refusal = state.withLock { s -> Refusal? in
            if s.channels.count >= maxConnections { return Refusal(limit: maxConnections, field: "connections") }
            let mine = s.perUID[uid, default: 0]
            if mine >= maxPerUID { return Refusal(limit: maxPerUID, field: "connections_per_uid") }
            s.perUID[uid] = mine + 1
            s.channels[ObjectIdentifier(channel)] = (channel, handler)
            return nil
        }
        if let refusal { return refusal }
        channel.closeFuture.whenComplete { _ in
            self.state.withLock { s in
                _ = s.channels.removeValue(forKey: ObjectIdentifier(channel))
                let left = s.perUID[uid, default: 1] - 1
                s.perUID[uid] = left > 0 ? left : nil
            }
        }
        return nil
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
