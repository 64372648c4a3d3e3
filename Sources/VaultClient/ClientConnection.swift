import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The client's one connection: opened lazily, reused by every call, opened again after the server closed
/// it. Any number of tasks may send through it at once; `ResponseMatcher` pairs the answers.
final class ClientConnection: Sendable {
    private enum State {
        case idle
        case connecting(EventLoopFuture<Channel>)
        case connected(Channel)
        case closed
    }

    let socketPath: String
    private let group: any EventLoopGroup
    private let timeout: TimeAmount?
    private let maxResponseBytes: Int
    private let state = Mutex(State.idle)

    init(socketPath: String, group: any EventLoopGroup, timeout: TimeAmount?, maxResponseBytes: Int) {
        self.socketPath = socketPath
        self.group = group
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }

    deinit {
        if case .connected(let channel) = state.withLock({ $0 }) { channel.close(promise: nil) }
    }

    /// Sends one request line and returns its response line. Throws `VaultConnectionError` only.
    func send(_ line: ByteBuffer, id: Int64) async throws -> ByteBuffer {
        var retried = false
        while true {
            let channel = try await self.channel()
            let response = channel.eventLoop.makePromise(of: ByteBuffer.self)
            let written = channel.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenFailure { response.fail($0) }
            channel.writeAndFlush(OutgoingRequest(line: line, id: id, response: response), promise: written)
            do {
                return try await response.futureResult.get()
            } catch let error as VaultConnectionError {
                throw error
            } catch let error as ChannelError where error == .ioOnClosedChannel && !retried {
                // The channel was already closed when the request got to it, so nothing was sent: safe to send
                // it once more, on a new connection.
                retried = true
                forget(channel)
            } catch {
                throw VaultConnectionError(
                    .closed,
                    "the connection failed before the answer came",
                    socketPath: socketPath
                )
            }
        }
    }

    /// Closes the connection for good: later calls fail with `.clientClosed`.
    func close() async {
        let previous = state.withLock { state -> State in
            defer { state = .closed }
            return state
        }
        switch previous {
        case .connected(let channel): try? await channel.close()
        case .connecting(let future): try? await future.get().close()
        case .idle, .closed: break
        }
    }

    private func channel() async throws -> Channel {
        enum Next {
            case use(Channel)
            case wait(EventLoopFuture<Channel>)
            case start(EventLoopPromise<Channel>)
            case closed
        }
        let next: Next = state.withLock { state in
            switch state {
            case .connected(let channel) where channel.isActive: return .use(channel)
            case .connecting(let future): return .wait(future)
            case .closed: return .closed
            case .idle, .connected:
                // Only a placeholder is made under the lock; the connection itself is started outside it.
                let promise = group.next().makePromise(of: Channel.self)
                state = .connecting(promise.futureResult)
                return .start(promise)
            }
        }
        switch next {
        case .use(let channel): return channel
        case .closed: throw VaultConnectionError(.clientClosed, "the client was closed", socketPath: socketPath)
        case .start(let promise):
            connect(promise)
            return try await self.channel()
        case .wait(let future):
            do {
                return try await future.get()
            } catch {
                throw VaultConnectionError(
                    .cannotConnect,
                    "cannot connect: \(Self.describe(error))",
                    socketPath: socketPath
                )
            }
        }
    }

    private func connect(_ promise: EventLoopPromise<Channel>) {
        let timeout = self.timeout
        let path = socketPath
        let maxBytes = maxResponseBytes
        let future = promise.futureResult
        ClientBootstrap(group: promise.futureResult.eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(ResponseLineDecoder(maxLength: maxBytes))
                    )
                    try channel.pipeline.syncOperations.addHandler(ResponseMatcher(timeout: timeout, socketPath: path))
                }
            }
            .connect(unixDomainSocketPath: socketPath)
            .cascade(to: promise)
        future.whenComplete { result in
            self.state.withLock { state in
                guard case .connecting(let pending) = state, pending === future else { return }
                switch result {
                case .success(let channel): state = .connected(channel)
                case .failure: state = .idle  // the next call tries again
                }
            }
            if case .success(let channel) = result {
                channel.closeFuture.whenComplete { _ in self.forget(channel) }
            }
        }
    }

    /// After the server closed `channel`, the next call connects anew.
    private func forget(_ channel: Channel) {
        state.withLock { state in
            if case .connected(let current) = state, current === channel { state = .idle }
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        return "\(error)"
    }
}
