import Foundation
import Glibc

/// A PostgreSQL stand-in on a Unix socket that speaks just enough of the wire protocol (version 3) for libpq:
/// it accepts every login without a password and answers each simple query with the bytes its script gives
/// for it. It exists to make libpq fail in ways a real server will not on demand (a reply libpq cannot parse
/// while the connection stays up), so the connection's handling of them can be tested.
final class ScriptedPostgresServer: @unchecked Sendable {
    /// The reply to one query on one connection: the raw messages to send (each `Message` is type and body).
    typealias Reply = [Message]

    struct Message {
        var type: UInt8
        var body: [UInt8]
    }

    let folder: URL
    let port = 54329
    private let listener: Int32
    private let lock = NSLock()
    private let script: (_ connection: Int, _ sql: String) -> Reply
    private var connectionCount = 0
    private var queriesSeen: [String] = []
    private var thread: Thread?

    /// `script(connection, sql)` is the reply to `sql` on the `connection`-th login (from 1).
    init(script: @escaping (_ connection: Int, _ sql: String) -> Reply) throws {
        self.script = script
        folder = URL(fileURLWithPath: "/tmp/cvault-pgfake-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent(".s.PGSQL.\(port)").path
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listener, 8) == 0 else {
            Glibc.close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        let thread = Thread { [self] in self.serve() }
        self.thread = thread
        thread.start()
    }

    /// The URI libpq connects with.
    var uri: String { "postgresql:///vault?host=\(folder.path)&port=\(port)&user=cvault" }

    /// How many logins the server has accepted.
    var connections: Int { lock.withLock { connectionCount } }

    /// Every query received, in order.
    var queries: [String] { lock.withLock { queriesSeen } }

    /// Stops accepting and removes the socket folder.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        try? FileManager.default.removeItem(at: folder)
    }

    private func serve() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let number = lock.withLock {
                connectionCount += 1
                return connectionCount
            }
            let worker = Thread { [self] in self.converse(client, number: number) }
            worker.start()
        }
    }

    private func converse(_ client: Int32, number: Int) {
        defer { Glibc.close(client) }
        // The startup packet: length, protocol, parameters. No type byte.
        guard let length = readInt32(client), let _ = readBytes(client, Int(length) - 4) else { return }
        send(
            client,
            [
                Message(type: UInt8(ascii: "R"), body: int32(0)),  // AuthenticationOk
                Message(type: UInt8(ascii: "K"), body: int32(4242) + int32(1)),  // BackendKeyData
                Self.ready(UInt8(ascii: "I")),
            ]
        )
        while let type = readBytes(client, 1), let length = readInt32(client),
            let body = readBytes(client, Int(length) - 4)
        {
            if type[0] == UInt8(ascii: "X") { return }  // Terminate
            guard type[0] == UInt8(ascii: "Q") else { return }
            let sql = String(decoding: body.prefix { $0 != 0 }, as: UTF8.self)
            let reply = lock.withLock {
                queriesSeen.append(sql)
                return script(number, sql)
            }
            send(client, reply)
        }
    }

    // MARK: Messages a script uses

    static func commandComplete(_ tag: String) -> Message {
        Message(type: UInt8(ascii: "C"), body: Array(tag.utf8) + [0])
    }

    /// ReadyForQuery: `I` idle, `T` in a transaction.
    static func ready(_ state: UInt8) -> Message { Message(type: UInt8(ascii: "Z"), body: [state]) }

    /// A RowDescription that announces one column and then ends: libpq cannot parse it.
    static let truncatedRowDescription = Message(type: UInt8(ascii: "T"), body: [0, 1, UInt8(ascii: "x")])

    /// A DataRow with no RowDescription before it: libpq refuses it.
    static let unannouncedDataRow = Message(type: UInt8(ascii: "D"), body: [0, 0])

    /// The reply to the session set-up cvault sends first (three `SET`s in one query).
    static let sessionSetUp: Reply = [
        commandComplete("SET"), commandComplete("SET"), commandComplete("SET"), ready(UInt8(ascii: "I")),
    ]

    // MARK: Bytes

    private func send(_ client: Int32, _ messages: [Message]) {
        var bytes: [UInt8] = []
        for message in messages {
            bytes.append(message.type)
            bytes += int32(Int32(message.body.count + 4))
            bytes += message.body
        }
        bytes.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let count = Glibc.send(client, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if count <= 0 { return }
                sent += count
            }
        }
    }

    private func readInt32(_ client: Int32) -> Int32? {
        guard let bytes = readBytes(client, 4) else { return nil }
        return bytes.reduce(Int32(0)) { $0 << 8 | Int32($1) }
    }

    private func readBytes(_ client: Int32, _ count: Int) -> [UInt8]? {
        guard count >= 0, count < 1 << 20 else { return nil }
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes.withUnsafeMutableBytes { recv(client, $0.baseAddress! + got, count - got, 0) }
            if n <= 0 { return nil }
            got += n
        }
        return bytes
    }
}

private func int32(_ value: Int32) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}
