import NIOCore
import VaultJSON

/// One response line, written straight into the `ByteBuffer` that goes to the socket: no answer is built as
/// a `String` and copied, so a large `detokenize` answer exists once in memory, not two or three times.
///
/// The buffer refuses to grow past `limit` bytes (`--max-response-bytes`): a write that would pass it is
/// dropped and `overflowed` is set, so an answer over the cap costs at most the cap in memory, and the
/// dispatcher replaces it with a `-32004` error (docs/PROTOCOL.md §5).
struct ResponseBuffer {
    private(set) var buffer: ByteBuffer
    let limit: Int
    private(set) var overflowed = false
    private let start: Int

    init(allocator: ByteBufferAllocator, limit: Int) {
        buffer = allocator.buffer(capacity: 256)
        start = buffer.writerIndex
        self.limit = limit
    }

    /// Bytes written so far (the line without its `\n`).
    var count: Int { buffer.writerIndex - start }

    /// Where the next byte goes: a mark to `rewind` to.
    var mark: Int { buffer.writerIndex }

    /// Drops everything written after `mark` and clears `overflowed`.
    mutating func rewind(to mark: Int) {
        buffer.moveWriterIndex(to: mark)
        overflowed = false
    }

    /// Whether `bytes` more would still fit under the cap.
    func fits(_ bytes: Int) -> Bool { !overflowed && bytes <= limit - count }

    /// Marks the answer as over the cap without writing it (the caller knows it cannot fit).
    mutating func refuse() { overflowed = true }

    mutating func raw(_ bytes: UnsafeRawBufferPointer, unlimited: Bool = false) {
        guard !overflowed else { return }
        guard unlimited || bytes.count <= limit - count else {
            overflowed = true
            return
        }
        buffer.writeBytes(bytes)
    }

    mutating func raw(_ text: StaticString, unlimited: Bool = false) {
        raw(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount), unlimited: unlimited)
    }

    /// Text that is already JSON (a fragment written by a `JSONWriter` with the wire's options).
    mutating func raw(_ json: [UInt8], unlimited: Bool = false) {
        json.withUnsafeBytes { raw($0, unlimited: unlimited) }
    }

    /// A JSON string, escaped by VaultJSON's writer with the wire's options, straight into the buffer.
    mutating func quote(_ s: String, unlimited: Bool = false) {
        raw("\"", unlimited: unlimited)
        JSONWriter.escape(s, options: .wire) { raw($0, unlimited: unlimited) }
        raw("\"", unlimited: unlimited)
    }

    /// A request's id, echoed with the JSON type it came with.
    mutating func id(_ id: RequestID, unlimited: Bool = false) {
        switch id {
        case .string(let s): quote(s, unlimited: unlimited)
        case .number(let n):
            var digits = String(n)
            digits.withUTF8 { raw(UnsafeRawBufferPointer($0), unlimited: unlimited) }
        case .null: raw("null", unlimited: unlimited)
        }
    }

    /// Ends the line. Never refused: the newline is not counted against the cap.
    mutating func finish() -> ByteBuffer {
        buffer.writeInteger(UInt8(ascii: "\n"))
        return buffer
    }
}
