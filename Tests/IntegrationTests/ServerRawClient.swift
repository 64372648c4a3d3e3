import Dispatch
import Foundation
import VaultClient

#if canImport(Glibc)
import Glibc
#endif

/// What went wrong in the test harness itself (a socket, a process), as opposed to a failed expectation.
/// Descriptions hold codes, counts and paths, never a value or a passphrase.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A byte-level client on the server's Unix socket (and under `RPCConnection`, the JSON-RPC one): plain Glibc calls with receive and send timeouts, so
/// no test can hang on a server that stops answering. Not thread-safe: one per task or thread.
final class RawConnection {
    let fd: Int32
    private var buffer: [UInt8] = []
    /// The server closed (EOF, or a reset after it closed with our bytes unread).
    private(set) var peerClosed = false
    /// At most this many bytes per receive, and this pause before each: a slow reader.
    var readChunkSize = 64 * 1024
    var readPauseMicroseconds: UInt32 = 0

    /// Connects to `path`; every later receive or send waits at most `timeout` seconds (connect too: on
    /// Linux a Unix-socket connect waits with the send timeout).
    init(_ path: String, timeout: Int = 20) throws {
        // A failed connect leaves nothing open and throws before `fd` is set, so deinit never runs: a
        // second close could pull a reused number (a parallel test's SQLite file) from under its owner.
        do {
            fd = try UnixSocket.connect(path, timeoutSeconds: timeout)
        } catch {
            throw HarnessError(error.description)
        }
    }

    private var closed = false
    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    deinit { close() }

    /// Sends everything; false if the server closed meanwhile (EPIPE/ECONNRESET: it stopped reading).
    /// Throws on timeout.
    @discardableResult
    func send(_ bytes: [UInt8]) throws -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == EPIPE || e == ECONNRESET { return false }
                if e == EAGAIN || e == EWOULDBLOCK { throw HarnessError("send timed out") }
                throw HarnessError("send failed: errno \(e)")
            }
            offset += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) throws -> Bool { try send(Array(text.utf8)) }

    /// Sends `text` followed by a newline.
    @discardableResult
    func sendLine(_ text: String) throws -> Bool { try send(Array(text.utf8) + [0x0A]) }

    /// Sends without blocking; the number of bytes the kernel took (0 when its buffers are full), or nil
    /// when the server has closed.
    func sendNonBlocking(_ bytes: [UInt8]) -> Int? {
        let n = bytes.withUnsafeBytes {
            Glibc.send(fd, $0.baseAddress!, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
        }
        if n >= 0 { return n }
        let e = errno
        if e == EAGAIN || e == EWOULDBLOCK || e == EINTR { return 0 }
        return nil
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Sends `bytes` from another thread (blocking sends, stopping quietly when the server closes), so
    /// this thread can read meanwhile. Returns a semaphore signalled when the sender is done; wait for it
    /// before closing the connection.
    func sendInBackground(_ bytes: [UInt8], thenShutdown: Bool = false) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        let fd = self.fd
        let thread = Thread {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes {
                    Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                }
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    break
                }
                offset += n
            }
            if thenShutdown { shutdown(fd, Int32(SHUT_WR)) }
            done.signal()
        }
        thread.start()
        return done
    }

    /// Reads more bytes into the buffer; false at end of stream. Throws on timeout.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: readChunkSize)
        if readPauseMicroseconds > 0 { usleep(readPauseMicroseconds) }
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
            if n == 0 {
                peerClosed = true
                return false
            }
            let e = errno
            if e == EINTR { continue }
            if e == ECONNRESET || e == EPIPE {
                peerClosed = true
                return false
            }
            if e == EAGAIN || e == EWOULDBLOCK { throw HarnessError("no answer from the server in time") }
            throw HarnessError("recv failed: errno \(e)")
        }
    }

    /// The next line without its newline, or nil when the server closed with no complete line pending.
    /// (A final unterminated fragment is returned as a line.)
    func readLine() throws -> [UInt8]? {
        while true {
            if let i = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<i])
                buffer.removeSubrange(...i)
                return line
            }
            if try peerClosed || !fill() {
                if buffer.isEmpty { return nil }
                defer { buffer.removeAll() }
                return buffer
            }
        }
    }

    /// The next response, parsed. Throws if the server closed instead.
    func readJSON() throws -> Any {
        guard let line = try readLine() else {
            throw HarnessError("the server closed the connection without answering")
        }
        return try parseJSON(line)
    }

    /// The next response, which must be one JSON object.
    func readObject() throws -> [String: Any] {
        guard let object = try readJSON() as? [String: Any] else {
            throw HarnessError("the response is not a JSON object")
        }
        return object
    }

    /// Sends one line and reads one response object.
    func call(_ line: String) throws -> [String: Any] {
        try sendLine(line)
        return try readObject()
    }

    /// Every remaining line until the server closes (bounded by the receive timeout per read).
    func readUntilClosed(maxLines: Int = 100_000) throws -> [[UInt8]] {
        var lines: [[UInt8]] = []
        while lines.count < maxLines, let line = try readLine() { lines.append(line) }
        return lines
    }

    /// Waits for the server to close the connection, discarding anything it sends; true if it closed.
    func waitForClose() throws -> Bool {
        while !peerClosed {
            buffer.removeAll()
            _ = try fill()
        }
        return true
    }
}

func parseJSON(_ bytes: [UInt8]) throws -> Any {
    do {
        return try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    } catch {
        throw HarnessError("the server sent a line that is not JSON")
    }
}

/// A request line, built with JSONSerialization so the test's own JSON is certainly well formed.
func requestLine(id: Any? = 1, method: String, params: Any? = nil) -> String {
    var object: [String: Any] = ["jsonrpc": "2.0", "method": method]
    if let id { object["id"] = id }
    if let params { object["params"] = params }
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// Reading responses.
extension Dictionary where Key == String, Value == Any {
    var errorCode: Int? { (self["error"] as? [String: Any])?["code"] as? Int }
    var errorData: [String: Any]? { (self["error"] as? [String: Any])?["data"] as? [String: Any] }
    var resultObject: [String: Any]? { self["result"] as? [String: Any] }
    var idIsNull: Bool { self["id"] is NSNull }
}
