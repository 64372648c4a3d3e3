import NIOCore
import VaultClient

/// Splits the byte stream into lines, without ever holding more than `maxLength` bytes of one line.
///
/// A line longer than the limit is reported once as `.tooLarge` as soon as the limit is passed (the rest is
/// never buffered: a 100 MiB line costs 1 MiB of memory at most), and everything after it is dropped,
/// because the connection is then closed.
struct LineFrameDecoder: ByteToMessageDecoder {
    enum Frame {
        case line(ByteBuffer)
        case tooLarge

        /// Bytes the frame holds while it waits in a connection's queue.
        var size: Int {
            if case .line(let buffer) = self { return buffer.readableBytes }
            return 0
        }
    }
    typealias InboundOut = Frame

    let maxLength: Int
    /// Bytes of the current partial line already searched for a newline.
    private var scanned = 0
    private var overflowed = false

    init(maxLength: Int) { self.maxLength = maxLength }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if overflowed {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        if let length = LineFraming.nextLineLength(in: buffer, scanned: &scanned) {
            guard length <= maxLength else { return overflow(context: context, buffer: &buffer) }
            context.fireChannelRead(wrapInboundOut(.line(LineFraming.readLine(length: length, from: &buffer))))
            return .continue
        }
        if scanned > maxLength { return overflow(context: context, buffer: &buffer) }
        return .needMoreData
    }

    /// At end of input a final line without a newline still counts.
    mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if !overflowed, buffer.readableBytes > 0 {
            let line = buffer.readSlice(length: buffer.readableBytes)!
            scanned = 0
            context.fireChannelRead(wrapInboundOut(.line(line)))
        }
        return .needMoreData
    }

    private mutating func overflow(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        overflowed = true
        buffer.moveReaderIndex(to: buffer.writerIndex)
        context.fireChannelRead(wrapInboundOut(.tooLarge))
        return .needMoreData
    }
}
