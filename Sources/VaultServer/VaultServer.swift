import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import VaultClient
import VaultCore

#if canImport(Glibc)
import Glibc
#endif

/// `cvault serve`: the JSON-RPC API on a Unix socket (docs/PROTOCOL.md).
///
/// SwiftNIO binds the socket and runs one pipeline per connection: `LineFrameDecoder` (framing with a hard
/// line limit) then `ConnectionHandler` (ordering and backpressure). The caller's uid comes from
/// SO_PEERCRED at accept time. Vault calls run off the event loops; writes reach the store's writer thread,
/// which groups concurrent ones into one durable commit.
public final class VaultServer: Sendable {
    public static let version = "0.1.0"

    public struct Configuration: Sendable {
        public var socketPath: String
        public var socketMode: mode_t = 0o660
        public var socketGroup: gid_t?
        public var maxRequestBytes = 1 << 20
        /// The longest response line built; a larger answer is replaced by `-32004` (docs/PROTOCOL.md §5).
        public var maxResponseBytes = Configuration.defaultMaxResponseBytes
        /// 32 MiB: room for a full batch of ordinary values (a few hundred bytes each), far below what hurts the
        /// server; a caller with larger values asks for fewer per call.
        public static let defaultMaxResponseBytes = 32 << 20
        /// A connection with nothing running or waiting for this long after its last answer is closed.
        public var idleTimeout: Duration = .seconds(60)
        /// Open connections in all, and per peer uid; past either, a new connection gets `-32004` and is
        /// closed. 4096 and 1024 leave room for the largest legitimate pools (hundreds of connections per
        /// service) while keeping a single local user from taking every descriptor.
        public var maxConnections = 4096
        public var maxConnectionsPerUID = 1024
        public init(socketPath: String) { self.socketPath = socketPath }
    }

    private let vault: Vault
    private let configuration: Configuration
    private let logger: Logger
    private let tracker = ConnectionTracker()
    private let group: MultiThreadedEventLoopGroup
    private let dispatcher: RPCDispatcher
    private let onListening: @Sendable () -> Void

    /// - Parameter onListening: called once, as a `Service`, when the socket answers (`serve` writes its pid
    ///   file then).
    public init(
        vault: Vault,
        configuration: Configuration,
        logger: Logger,
        onListening: @escaping @Sendable () -> Void = {}
    ) {
        self.vault = vault
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
        // One event loop per core: each request's JSON work runs on its connection's loop (EventLoopTaskExecutor),
        // so a second loop uses the second core. Measured on 2 cores, detokenize 64 clients × 1 value: 30–34 k/s
        // with two loops against 26–29 k/s with one (docs/BENCHMARKS.md); tokenize unchanged.
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        self.dispatcher = RPCDispatcher(vault: vault, logger: logger, maxResponseBytes: configuration.maxResponseBytes)
    }

    /// Binds the socket (replacing a stale one, refusing if a live server answers), sets its mode and group,
    /// and returns the listening channel.
    public func start() async throws -> Channel {
        try Self.clearStaleSocket(configuration.socketPath)
        let descriptors = Self.raiseDescriptorLimit()
        let dispatcher = self.dispatcher
        let tracker = self.tracker
        let maxBytes = configuration.maxRequestBytes
        let logger = self.logger
        let vault = self.vault
        let configuration = self.configuration
        let idle = TimeAmount(configuration.idleTimeout)
        // The socket is created under umask 0177 (owner only) and then opened up to exactly the mode asked
        // for, so it is never briefly more open than configured.
        let oldMask = umask(0o177)
        defer { umask(oldMask) }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                PeerCredentials.of(channel).flatMap { credentials in
                    guard let credentials else {
                        logger.warning("connection without peer credentials refused")
                        return channel.close()
                    }
                    let uid = credentials.uid
                    // An unknown uid is answered and closed at once: nothing of it is read or queued (§2).
                    guard (try? vault.caller(uid: uid)) != nil else {
                        let outcome = dispatcher.unknownIdentity(uid: uid, allocator: channel.allocator)
                        return Self.refuse(channel, with: outcome.response)
                    }
                    let handler = ConnectionHandler(
                        uid: uid,
                        dispatcher: dispatcher,
                        maxRequestBytes: maxBytes,
                        idleTimeout: idle,
                        tracker: tracker
                    )
                    if let refusal = tracker.admit(
                        channel,
                        handler,
                        uid: uid,
                        maxConnections: configuration.maxConnections,
                        maxPerUID: configuration.maxConnectionsPerUID
                    ) {
                        let response = dispatcher.connectionRefused(
                            limit: refusal.limit,
                            field: refusal.field,
                            uid: uid,
                            allocator: channel.allocator
                        )
                        return Self.refuse(channel, with: response)
                    }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(LineFrameDecoder(maxLength: maxBytes))
                        )
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
            }
            .bind(unixDomainSocketPath: configuration.socketPath)
            .get()
        guard chmod(configuration.socketPath, configuration.socketMode) == 0 else {
            throw VaultError(
                .storage,
                "cannot set mode \(String(configuration.socketMode, radix: 8)) on \(configuration.socketPath)",
                hint: "check the folder"
            )
        }
        if let gid = configuration.socketGroup, chown(configuration.socketPath, uid_t.max, gid) != 0 {
            throw VaultError(
                .storage,
                "cannot give \(configuration.socketPath) to group \(gid)",
                hint: "run as root or as a member of that group"
            )
        }
        logger.notice(
            "serving",
            metadata: [
                "socket.path": "\(configuration.socketPath)",
                "socket.mode": "\(String(configuration.socketMode, radix: 8))",
            ]
        )
        logger.notice(
            "limits",
            metadata: [
                "fd_limit": "\(descriptors)", "max_connections": "\(configuration.maxConnections)",
                "max_connections_per_uid": "\(configuration.maxConnectionsPerUID)",
                "idle_timeout_s": "\(configuration.idleTimeout.components.seconds)",
                "max_request_bytes": "\(configuration.maxRequestBytes)",
                "max_response_bytes": "\(configuration.maxResponseBytes)",
            ]
        )
        return channel
    }

    /// A refused connection's pipeline: one line out, then closed (`RefuseHandler`).
    private static func refuse(_ channel: Channel, with response: ByteBuffer?) -> EventLoopFuture<Void> {
        guard let response else { return channel.close() }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RefuseHandler(response: response))
        }
    }

    /// Raises this process's open-file soft limit to its hard limit, so the connection caps, not the
    /// default soft limit (often 1024), decide how many clients fit. Returns the soft limit in force.
    static func raiseDescriptorLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return UInt64(limit.rlim_cur)
    }

    /// Stops accepting, lets requests in flight finish and be answered, closes every connection, removes
    /// the socket file. Waits at most `grace` for clients that are not reading their answers.
    public func shutdown(listener: Channel, grace: Duration = .seconds(10)) async {
        try? await listener.close()
        tracker.drainAll()
        let deadline = ContinuousClock.now + grace
        while tracker.openConnections > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        unlink(configuration.socketPath)
        try? await group.shutdownGracefully()
    }

    /// A socket file left by a dead server is removed; one a live server answers on is not.
    static func clearStaleSocket(_ path: String) throws {
        guard try refuseIfServing(path) else { return }
        unlink(path)
    }

    /// Throws if `path` is taken: by something that is not a socket, or by a socket a live server answers
    /// on. Returns whether a (stale) socket file is there. `serve` calls this before opening the vault, so a
    /// second server on a live socket refuses at once and touches nothing of the vault.
    @discardableResult
    public static func refuseIfServing(_ path: String) throws -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw VaultError(
                .invalidRequest,
                "\(path) exists and is not a socket",
                hint: "choose another --socket path"
            )
        }
        if socketAnswers(path) {
            throw VaultError(
                .invalidRequest,
                "another cvault server is running on \(path)",
                hint: "stop it first, or choose another --socket path"
            )
        }
        return true
    }

    static func socketAnswers(_ path: String) -> Bool {
        guard let fd = try? UnixSocket.connect(path) else { return false }
        close(fd)
        return true
    }
}

/// The server as one service of a swift-service-lifecycle `ServiceGroup` (as Hummingbird's `Application` is):
/// it serves until the group shuts down gracefully, then stops as `shutdown(listener:)` says.
extension VaultServer: Service {
    public func run() async throws {
        let listener = try await start()
        onListening()
        // Cancelled instead (another service of the group failed): stopped the same way, nothing left open.
        try? await gracefulShutdown()
        await shutdown(listener: listener)
    }
}
