import NIOCore

/// One connection: runs its lines one after another (so requests take effect in the order sent, and
/// responses come back in that order), and stops reading while too many lines (or bytes) wait or while the
/// client is not reading its responses, so a slow or hostile client costs bounded memory and never stalls
/// others. A connection idle for `idleTimeout` (nothing running, nothing waiting) is closed.
final class ConnectionHandler: ChannelDuplexHandler, @unchecked Sendable {
    // @unchecked Sendable: every field is touched only on this channel's event loop (callbacks from the
    // dispatcher hop back with `whenComplete`, which runs there).
    typealias InboundIn = LineFrameDecoder.Frame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Lines read ahead of the one running; past this the handler stops reading.
    static let maxQueued = 32
    /// Bytes of the lines read ahead; past this the handler stops reading. With 1 MiB lines, 32 of them
    /// could otherwise wait (32 MiB per connection); 4 MiB keeps pipelining of ordinary lines unthrottled
    /// (32 lines of 128 KiB) while a connection's queue costs at most about 4 MiB plus one read.
    static let maxQueuedBytes = 4 << 20

    private let uid: UInt32
    private let dispatcher: RPCDispatcher
    private let maxRequestBytes: Int
    private let tracker: ConnectionTracker
    /// Lines read and not yet run, oldest first: NIO's ring buffer, so taking the head is O(1) and the
    /// storage is reused rather than shifted.
    private var queue = CircularBuffer<LineFrameDecoder.Frame>(initialCapacity: 8)
    private var queuedBytes = 0
    private let idleTimeout: TimeAmount
    private var idleTimer: Scheduled<Void>?
    /// When a line last arrived or an answer was last written: the idle clock runs from here.
    private var lastActivity = NIODeadline.now()
    private var busy = false
    private var closing = false
    private var inputClosed = false
    private var readHeld = false
    /// The future of the last answer written: writes complete in order, so when it completes every earlier
    /// answer has gone out too.
    private var lastWrite: EventLoopFuture<Void>?

    init(
        uid: UInt32,
        dispatcher: RPCDispatcher,
        maxRequestBytes: Int,
        idleTimeout: TimeAmount,
        tracker: ConnectionTracker
    ) {
        self.uid = uid
        self.dispatcher = dispatcher
        self.maxRequestBytes = maxRequestBytes
        self.idleTimeout = idleTimeout
        self.tracker = tracker
    }

    func channelActive(context: ChannelHandlerContext) {
        lastActivity = .now()
        scheduleIdleCheck(context.channel, at: lastActivity + idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let frame = unwrapInboundIn(data)
        lastActivity = .now()
        queuedBytes += frame.size
        queue.append(frame)
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
        if queue.count >= Self.maxQueued || queuedBytes >= Self.maxQueuedBytes || !context.channel.isWritable
            || tracker.isDraining
        {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        runNext(context.channel)
        resumeReading(context.channel)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset or broken pipe from a client that went away: nothing to answer.
        context.close(promise: nil)
    }

    /// This connection's event loop as the executor of its request tasks (see `EventLoopTaskExecutor`).
    private var taskExecutor: EventLoopTaskExecutor?

    private func executor(_ channel: Channel) -> EventLoopTaskExecutor {
        if let taskExecutor { return taskExecutor }
        let made = EventLoopTaskExecutor(channel.eventLoop)
        taskExecutor = made
        return made
    }

    /// Runs the next waiting line, unless one is running or the client is not reading its answers: then the
    /// lines wait, so a client that never reads holds at most one answer in the server's memory (plus what
    /// the socket takes), not one per queued line.
    private func runNext(_ channel: Channel) {
        guard !busy, !closing, !queue.isEmpty, channel.isWritable else { return }
        let frame = queue.removeFirst()
        queuedBytes -= frame.size
        busy = true
        tracker.requestStarted()
        let dispatcher = self.dispatcher
        let uid = self.uid
        let limit = self.maxRequestBytes
        let allocator = channel.allocator
        let promise = channel.eventLoop.makePromise(of: LineOutcome.self)
        let work: @Sendable () async -> LineOutcome
        switch frame {
        case .tooLarge:
            // Answered by the dispatcher: an unknown uid gets -32001 even for an over-long line (§2).
            work = { dispatcher.tooLarge(uid: uid, limit: limit, allocator: allocator) }
        case .line(let buffer):
            let bytes = Array(buffer.readableBytesView)
            work = { await dispatcher.handle(bytes, uid: uid, allocator: allocator) }
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
        lastActivity = .now()
        if let buffer = outcome.response {
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

    /// The idle clock: one timer per connection, checking at the earliest moment the connection could have
    /// been idle for `idleTimeout` (activity only moves `lastActivity`, so a busy connection costs no timer
    /// work per request). Idle means no line running and none arrived or answered since `lastActivity`;
    /// lines waiting behind a client that does not read its answers do not count as activity.
    private func scheduleIdleCheck(_ channel: Channel, at deadline: NIODeadline) {
        idleTimer = channel.eventLoop.scheduleTask(deadline: deadline) { [weak self] in
            guard let self, !self.closing else { return }
            if self.busy {
                self.scheduleIdleCheck(channel, at: .now() + self.idleTimeout)
                return
            }
            let due = self.lastActivity + self.idleTimeout
            guard due <= .now() else {
                self.scheduleIdleCheck(channel, at: due)
                return
            }
            self.closing = true
            channel.close(promise: nil)
        }
    }

    private func resumeReading(_ channel: Channel) {
        guard readHeld, queue.count < Self.maxQueued, channel.isWritable, !tracker.isDraining else { return }
        readHeld = false
        channel.read()
    }

    /// After the client's end of input (or at shutdown), close once everything received has been answered.
    private func closeIfDone(_ channel: Channel) {
        guard inputClosed || tracker.isDraining, !busy, queue.isEmpty, !closing else { return }
        closing = true
        closeAfterWrites(channel)
    }

    /// Closes once every answer written so far has left NIO's buffers. `close()` right away would drop the
    /// answers still queued for a client that reads slowly (earlier responses, and the final -32004 or
    /// -32001), or cut one in the middle of its line. A client that never reads keeps its connection
    /// until it goes away (or until the shutdown grace ends).
    private func closeAfterWrites(_ channel: Channel) {
        guard let lastWrite else {
            channel.close(promise: nil)
            return
        }
        lastWrite.whenComplete { _ in channel.close(promise: nil) }
    }

    /// Called at shutdown on the channel's event loop: stop reading, answer what was received, close.
    func drain(_ channel: Channel) {
        closeIfDone(channel)
    }
}
