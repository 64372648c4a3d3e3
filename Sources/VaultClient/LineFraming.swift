import NIOCore

/// The protocol's line framing, the same at both ends (docs/PROTOCOL.md §2): a line ends at `\n`, and one
/// `\r` before it is not part of it. The server's `LineFrameDecoder` and the client's `ResponseLineDecoder`
/// differ only in what they do with a line that is too long.
package enum LineFraming {
    /// The length of the next complete line in `buffer` (from its reader index to the `\n`), or nil if no
    /// `\n` has arrived. Only the bytes past `scanned` are searched (those before it were, on an earlier
    /// read); `scanned` is updated for the next call, so a long line arriving in pieces is searched once.
    package static func nextLineLength(in buffer: ByteBuffer, scanned: inout Int) -> Int? {
        let view = buffer.readableBytesView
        guard let newline = view[(view.startIndex + scanned)...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = view.count
            return nil
        }
        scanned = 0
        return newline - view.startIndex
    }

    /// Takes a line of `length` bytes and its `\n` off `buffer` (`length` from `nextLineLength`), and
    /// returns the line without one trailing `\r`.
    package static func readLine(length: Int, from buffer: inout ByteBuffer) -> ByteBuffer {
        var line = buffer.readSlice(length: length) ?? ByteBuffer()
        buffer.moveReaderIndex(forwardBy: min(1, buffer.readableBytes))
        if line.readableBytesView.last == UInt8(ascii: "\r") { line.moveWriterIndex(to: line.writerIndex - 1) }
        return line
    }
}
