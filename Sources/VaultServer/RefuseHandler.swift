import NIOCore

/// The whole pipeline of a connection refused at accept (an unknown uid, a connection cap): it writes its
/// one error line as soon as the connection is active and closes. It never reads, so the client's bytes
/// are never looked at and the connection holds nothing but its descriptor, for as long as one write takes.
final class RefuseHandler: ChannelDuplexHandler, @unchecked Sendable {
    // @unchecked Sendable: touched only on the channel's event loop.
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let response: ByteBuffer

    init(response: ByteBuffer) { self.response = response }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(response)).whenComplete { _ in channel.close(promise: nil) }
        context.fireChannelActive()
    }

    /// Nothing is read from a refused connection.
    func read(context: ChannelHandlerContext) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
