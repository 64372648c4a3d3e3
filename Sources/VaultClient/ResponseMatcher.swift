import NIOCore

/// A request on its way out: its line (with the `\n`), its id, and the promise its response line completes.
struct OutgoingRequest {
    let line: ByteBuffer
    let id: Int64
    let response: EventLoopPromise<ByteBuffer>
}

/// Splits the server's byte stream into lines (without the `\n`, and without one `\r` before it).
///
/// `maxLength` guards against a runaway peer, not a protocol limit: the largest legitimate response is
/// about `max_batch` values of up to 64 KiB each, JSON-escaped.
struct ResponseLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxLength: Int
    /// Bytes of the current partial line already searched for a newline.
    private var scanned = 0

    init(maxLength: Int) { self.maxLength = maxLength }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = LineFraming.nextLineLength(in: buffer, scanned: &scanned) else {
            if scanned > maxLength { throw ResponseTooLong() }
            return .needMoreData
        }
        context.fireChannelRead(wrapInboundOut(LineFraming.readLine(length: length, from: &buffer)))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        // The server ends every response with `\n`: a partial line at the end is dropped.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    struct ResponseTooLong: Error {}
}

/// Matches response lines to requests in order (docs/PROTOCOL.md §4.1: responses come back in the order of
/// the requests), so any number of tasks can pipeline calls on one connection.
///
/// Requests are appended to the queue in `write`, on the channel's event loop, in exactly the order their
/// bytes go out. A response line completes the oldest request's promise; the caller checks its `id`. When
/// the connection ends, every request still waiting fails with `.closed`; when the oldest has waited longer
/// than the timeout, it fails with `.timedOut` and the connection is dropped (what it would have answered
/// is unknown, so nothing after it can be trusted either).
final class ResponseMatcher: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutgoingRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        let id: Int64
        let response: EventLoopPromise<ByteBuffer>
        let sent: NIODeadline
    }

    private var waiting = CircularBuffer<Waiting>(initialCapacity: 16)
    private let timeout: TimeAmount?
    private let socketPath: String
    private var timer: RepeatedTask?

    init(timeout: TimeAmount?, socketPath: String) {
        self.timeout = timeout
        self.socketPath = socketPath
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let timeout else { return }
        // Checking the oldest request a few times per timeout costs one timer per connection, not one per call.
        let every = TimeAmount.nanoseconds(min(max(timeout.nanoseconds / 8, 5_000_000), 1_000_000_000))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
            let (handler, context) = loopBound.value
            handler.checkTimeout(context: context, timeout: timeout)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        failAll(.closed, "the connection closed before the answer came")
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        waiting.append(Waiting(id: request.id, response: request.response, sent: .now()))
        context.write(wrapOutboundOut(request.line), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        guard let head = waiting.popFirst() else {
            // An answer nobody asked for: the two sides disagree about the conversation.
            fail(context, .malformedResponse, "the server sent a response with no request waiting for it")
            return
        }
        head.response.succeed(line)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(.closed, "the server closed the connection before answering")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is ResponseLineDecoder.ResponseTooLong {
            fail(context, .malformedResponse, "a response line was longer than the client accepts")
        } else {
            fail(context, .closed, "the connection failed before the answer came")
        }
    }

    private func checkTimeout(context: ChannelHandlerContext, timeout: TimeAmount) {
        guard let head = waiting.first, head.sent + timeout < .now() else { return }
        waiting.removeFirst().response.fail(
            VaultConnectionError(
                .timedOut,
                "no answer within \(timeout.nanoseconds / 1_000_000) ms",
                socketPath: socketPath
            )
        )
        fail(context, .closed, "the connection was dropped after an earlier request timed out")
    }

    private func fail(_ context: ChannelHandlerContext, _ kind: VaultConnectionError.Kind, _ message: String) {
        failAll(kind, message)
        context.close(promise: nil)
    }

    private func failAll(_ kind: VaultConnectionError.Kind, _ message: String) {
        guard !waiting.isEmpty else { return }
        let error = VaultConnectionError(kind, message, socketPath: socketPath)
        while let w = waiting.popFirst() { w.response.fail(error) }
    }
}
