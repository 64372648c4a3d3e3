import NIOCore

/// One connection: runs its lines one after another (so requests take effect in the order sent, and
/// responses come back in that order), and stops reading while too many lines wait or while the client is
/// not reading its responses, so a slow or hostile client costs bounded memory and never stalls others.
final class ConnectionHandler: ChannelDuplexHandler, @unchecked Sendable {
    // @unchecked Sendable: every field is touched only on this channel's event loop (callbacks from the
    // dispatcher hop back with `whenComplete`, which runs there).
    typealias InboundIn = LineFrameDecoder.Frame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Lines read ahead of the one running; past this the handler stops reading.
    static let maxQueued = 32

    private let uid: UInt32
    private let dispatcher: RPCDispatcher
    private let maxRequestBytes: Int
    private let tracker: ConnectionTracker
    private var queue: [LineFrameDecoder.Frame] = []
    private var queueHead = 0
    private var busy = false
    private var closing = false
    private var inputClosed = false
    private var readHeld = false
    /// The future of the last answer written: writes complete in order, so when it completes every earlier
    /// answer has gone out too.
    private var lastWrite: EventLoopFuture<Void>?

    init(uid: UInt32, dispatcher: RPCDispatcher, maxRequestBytes: Int, tracker: ConnectionTracker) {
        self.uid = uid
        self.dispatcher = dispatcher
        self.maxRequestBytes = maxRequestBytes
        self.tracker = tracker
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        queue.append(unwrapInboundIn(data))
        runNext(context.channel)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            closeIfDone(context.channel)
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Outbound `read`: held back while the queue is full or the client is not reading.
    func read(context: ChannelHandlerContext) {
        if queued >= Self.maxQueued || !context.channel.isWritable || tracker.isDraining {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReading(context.channel)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset or broken pipe from a client that went away: nothing to answer.
        context.close(promise: nil)
    }

    private var queued: Int { queue.count - queueHead }

    /// This connection's event loop as the executor of its request tasks (see `EventLoopTaskExecutor`).
    private var taskExecutor: EventLoopTaskExecutor?

    private func executor(_ channel: Channel) -> EventLoopTaskExecutor {
        if let taskExecutor { return taskExecutor }
        let made = EventLoopTaskExecutor(channel.eventLoop)
        taskExecutor = made
        return made
    }

    private func runNext(_ channel: Channel) {
        guard !busy, !closing, queueHead < queue.count else { return }
        let frame = queue[queueHead]
        queueHead += 1
        if queueHead > 64 && queueHead * 2 > queue.count { queue.removeFirst(queueHead); queueHead = 0 }
        busy = true
        tracker.requestStarted()
        let dispatcher = self.dispatcher, uid = self.uid, limit = self.maxRequestBytes
        let promise = channel.eventLoop.makePromise(of: LineOutcome.self)
        let work: @Sendable () async -> LineOutcome
        switch frame {
        case .tooLarge:
            // Answered by the dispatcher: an unknown uid gets -32001 even for an over-long line (§2).
            work = { await dispatcher.tooLarge(uid: uid, limit: limit) }
        case .line(let buffer):
            let bytes = Array(buffer.readableBytesView)
            work = { await dispatcher.handle(bytes, uid: uid) }
        }
        // On this connection's event loop, not the global pool (`EventLoopTaskExecutor` says why).
        Task(executorPreference: executor(channel)) { promise.succeed(await work()) }
        promise.futureResult.whenComplete { result in
            self.busy = false
            self.tracker.requestFinished()
            switch result {
            case .success(let outcome): self.finish(outcome, channel)
            case .failure: self.finish(LineOutcome(response: nil, close: true), channel)
            }
        }
    }

    private func finish(_ outcome: LineOutcome, _ channel: Channel) {
        if let text = outcome.response {
            var buffer = channel.allocator.buffer(capacity: text.utf8.count + 1)
            buffer.writeString(text)
            buffer.writeInteger(UInt8(ascii: "\n"))
            lastWrite = channel.writeAndFlush(buffer)
        }
        if outcome.close {
            closing = true
            closeAfterWrites(channel)
            return
        }
        runNext(channel)
        resumeReading(channel)
        closeIfDone(channel)
    }

    private func resumeReading(_ channel: Channel) {
        guard readHeld, queued < Self.maxQueued, channel.isWritable, !tracker.isDraining else { return }
        readHeld = false
        channel.read()
    }

    /// After the client's end of input (or at shutdown), close once everything received has been answered.
    private func closeIfDone(_ channel: Channel) {
        guard (inputClosed || tracker.isDraining), !busy, queued == 0, !closing else { return }
        closing = true
        closeAfterWrites(channel)
    }

    /// Closes once every answer written so far has left NIO's buffers. `close()` right away would drop the
    /// answers still queued for a client that reads slowly (earlier responses, and the final -32004 or
    /// -32001), or cut one in the middle of its line. A client that never reads keeps its connection
    /// until it goes away (or until the shutdown grace ends).
    private func closeAfterWrites(_ channel: Channel) {
        guard let lastWrite else { channel.close(promise: nil); return }
        lastWrite.whenComplete { _ in channel.close(promise: nil) }
    }

    /// Called at shutdown on the channel's event loop: stop reading, answer what was received, close.
    func drain(_ channel: Channel) {
        closeIfDone(channel)
    }
}
