import ArgumentParser
import Dispatch
import Foundation
import Logging
import VaultCore
import VaultSQLite
import VaultServer

#if canImport(Glibc)
import Glibc
#endif

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the JSON-RPC API on a Unix socket until SIGTERM or SIGINT (docs/PROTOCOL.md).",
        discussion: """
            SIGHUP reloads the policy (a broken one is refused and the old one stays). Key rotations made with \
            the CLI are picked up within a second. On SIGTERM/SIGINT the server stops accepting, answers what it \
            received, seals the audit log, removes the socket and exits 0.
            """
    )

    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions
    @OptionGroup var policy: PolicyOption

    @Option(help: ArgumentHelp("Socket path (env CVAULT_SOCKET; default ./cvault.sock).", valueName: "path"))
    var socket: String?
    @Option(help: ArgumentHelp("Socket file mode, octal.", valueName: "mode")) var socketMode = "0660"
    @Option(help: ArgumentHelp("Group (name or gid) to own the socket file.", valueName: "group")) var socketGroup:
        String?
    @Option(help: ArgumentHelp("Longest request line accepted, in bytes.", valueName: "n")) var maxRequestBytes =
        1 << 20
    @Option(
        help: ArgumentHelp(
            "Longest response line built, in bytes; a larger answer is replaced by error -32004.",
            valueName: "n"
        )
    ) var maxResponseBytes = 32 << 20
    @Option(
        help: ArgumentHelp("Close a connection with nothing running or waiting for this long.", valueName: "seconds")
    )
    var idleTimeout = 60
    @Option(help: ArgumentHelp("Most open connections; more are refused with error -32004.", valueName: "n"))
    var maxConnections = 4096
    @Option(
        help: ArgumentHelp("Most open connections of one peer uid; more are refused with error -32004.", valueName: "n")
    )
    var maxConnectionsPerUid = 1024
    @Option(help: "trace, debug, info, notice, warning, error or critical.") var logLevel = "info"
    @Option(
        help: ArgumentHelp(
            "How long an idempotency key is remembered, in seconds (docs/PROTOCOL.md §6.1).",
            valueName: "seconds"
        )
    ) var idempotencyTtl = Int(Vault.defaultIdempotencyLifetime)

    func run() async throws {
        try await reporting {
            guard let level = Logger.Level(rawValue: logLevel) else {
                throw VaultError(.invalidRequest, "unknown log level \(logLevel)", hint: "use info, warning, error, …")
            }
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let logger = Logger(label: "cvault.server")
            for warning in hardeningWarnings() {
                logger.warning("\(warning.message)", metadata: ["hint": "\(warning.hint)"])
            }
            var config = VaultServer.Configuration(socketPath: socket ?? env("CVAULT_SOCKET") ?? "./cvault.sock")
            guard let mode = mode_t(socketMode, radix: 8), mode <= 0o777 else {
                throw VaultError(
                    .invalidRequest,
                    "--socket-mode \(socketMode) is not an octal mode",
                    hint: "write it like 0660"
                )
            }
            config.socketMode = mode
            config.socketGroup = try socketGroup.map(groupID)
            guard maxRequestBytes >= 1024 else {
                throw VaultError(
                    .invalidRequest,
                    "--max-request-bytes must be at least 1024",
                    hint: "the default is 1048576"
                )
            }
            config.maxRequestBytes = maxRequestBytes
            guard (1024...(1 << 40)).contains(maxResponseBytes) else {
                throw VaultError(
                    .invalidRequest,
                    "--max-response-bytes must be from 1024 to 2^40",
                    hint: "the default is 33554432"
                )
            }
            config.maxResponseBytes = maxResponseBytes
            guard (1...86_400).contains(idleTimeout) else {
                throw VaultError(
                    .invalidRequest,
                    "--idle-timeout must be from 1 to 86400 seconds",
                    hint: "the default is 60"
                )
            }
            config.idleTimeout = .seconds(idleTimeout)
            guard (1...1_000_000).contains(maxConnections), (1...1_000_000).contains(maxConnectionsPerUid) else {
                throw VaultError(
                    .invalidRequest,
                    "--max-connections and --max-connections-per-uid must be from 1 to 1000000",
                    hint: "the defaults are 4096 and 1024"
                )
            }
            config.maxConnections = maxConnections
            config.maxConnectionsPerUID = maxConnectionsPerUid
            guard (60...31_536_000).contains(idempotencyTtl) else {
                throw VaultError(
                    .invalidRequest,
                    "--idempotency-ttl must be 60 to 31536000 seconds (one year)",
                    hint: "the default is 86400 (24 hours)"
                )
            }

            guard let policyPath = policy.path else {
                throw VaultError(
                    .policy,
                    "no policy file: a server never starts without one",
                    hint: "pass --policy FILE or set CVAULT_POLICY"
                )
            }
            // Before anything slow: a second server on a live socket refuses at once, without unsealing or
            // writing to the vault the first one serves.
            try VaultServer.refuseIfServing(config.socketPath)
            // Signal handling is in place before the socket is listening: a SIGHUP or SIGTERM sent as soon as
            // the socket answers must reach the loop below, not the default action (which kills the process).
            // Signals arriving during start-up wait in the stream.
            let signals = Signals.stream([SIGTERM, SIGINT, SIGHUP])
            let policies = PolicyHolder(path: policyPath, logger: logger)
            if case .failure(let error) = policies.reload() { throw error }
            let store = try SQLiteStore.open(at: location.databasePath)
            let keyring = try Keyring.open(
                at: location.keyringPath,
                credential: unseal.credential(keyringPath: location.keyringPath)
            )
            let vault = Vault(
                keyring: keyring,
                store: store,
                policies: policies,
                logger: logger,
                idempotencyLifetime: Int64(idempotencyTtl)
            )
            try await vault.audit(.policyLoad, caller: nil, detail: policies.auditDetail("at start"))

            let server = VaultServer(vault: vault, configuration: config, logger: logger)
            let listener = try await server.start()
            let pidFile = location.dataFolder + "/cvault.pid"
            try? FileSafety.writeAtomically(Array("\(getpid())\n".utf8), to: pidFile)

            let housekeeping = Task {
                // Pick up key rotations made with the CLI, write the aggregated unknown-uid records whose window
                // is over, and seal the audit head, once a second; purge expired idempotency records once a minute
                // (a write that finds none changes nothing and costs no fsync). A keyring reload failure that
                // persists (a keyring re-sealed under a new root key needs a restart) is logged once, not every second.
                var tick = 0
                var lastReloadError: String?
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    do {
                        try vault.reloadKeyringIfChanged()
                        lastReloadError = nil
                    } catch {
                        if lastReloadError != "\(error)" {
                            logger.error(
                                "keyring reload failed; the keys in force stay",
                                metadata: ["error": "\(error)"]
                            )
                        }
                        lastReloadError = "\(error)"
                    }
                    await auditUnknownIdentities(vault, logger: logger, force: false)
                    try? await vault.sealAudit()
                    tick += 1
                    if tick % 60 == 0 {
                        do { _ = try await vault.purgeExpiredIdempotency() } catch {
                            logger.error("purging expired idempotency records failed", metadata: ["error": "\(error)"])
                        }
                    }
                }
            }
            for await signal in signals {
                if signal == SIGHUP {
                    switch policies.reload() {
                    case .success:
                        try? await vault.audit(.policyLoad, caller: nil, detail: policies.auditDetail("on SIGHUP"))
                    case .failure(let error):
                        try? await vault.audit(.policyLoad, caller: nil, outcome: .refused, reason: error.message)
                    }
                    continue
                }
                logger.notice("shutting down", metadata: ["signal": "\(signal)"])
                break
            }
            housekeeping.cancel()
            await server.shutdown(listener: listener)
            await auditUnknownIdentities(vault, logger: logger, force: true)
            try? await vault.sealAudit()
            await store.close()
            unlink(pidFile)
            logger.notice("stopped")
        }
    }

    /// Writes the unknown-uid `connect` records (one per uid per window) and logs one warning per uid.
    private func auditUnknownIdentities(_ vault: Vault, logger: Logger, force: Bool) async {
        do {
            guard let tally = try await vault.auditUnknownIdentities(force: force) else { return }
            for (uid, count) in tally.counts.sorted(by: { $0.key < $1.key }) {
                logger.warning("unknown identity", metadata: ["peer.uid": "\(uid)", "attempts": "\(count)"])
            }
            if tally.others > 0 {
                logger.warning("unknown identity", metadata: ["peer.uid": "other", "attempts": "\(tally.others)"])
            }
        } catch {
            logger.error(
                "cannot audit unknown-identity attempts; they are kept for the next try",
                metadata: ["error": "\(error.message)"]
            )
        }
    }

    private func groupID(_ text: String) throws(VaultError) -> gid_t {
        if let gid = gid_t(text) { return gid }
        guard let entry = getgrnam(text) else {
            throw VaultError(.invalidRequest, "no group named \(text)", hint: "give a group name or gid that exists")
        }
        return entry.pointee.gr_gid
    }
}

/// POSIX signals as an async sequence (the default actions are disabled for the signals listed).
enum Signals {
    static func stream(_ signals: [Int32]) -> AsyncStream<Int32> {
        AsyncStream { continuation in
            let sources = signals.map { number -> DispatchSourceSignal in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { continuation.yield(number) }
                source.resume()
                return source
            }
            // The sources live as long as the stream: the server listens until it exits.
            let kept = SignalSources(sources)
            continuation.onTermination = { _ in kept.cancel() }
        }
    }
}

/// Keeps dispatch signal sources alive for the stream's lifetime.
final class SignalSources: @unchecked Sendable {
    // @unchecked Sendable: set once at creation; `cancel` is thread-safe in Dispatch.
    private let sources: [any DispatchSourceSignal]
    init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }
    func cancel() {
        for source in sources { source.cancel() }
    }
}
