import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
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
    @Option(
        help: ArgumentHelp(
            "Seconds between retention purges (tokens past the policy's retention:, docs/DESIGN.md).",
            valueName: "seconds"
        )
    ) var purgeInterval = 60
    @Option(help: ArgumentHelp("Tokens per retention purge batch (one audit record each).", valueName: "n"))
    var purgeBatch = Vault.defaultPurgeBatch

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
            try requireOption(
                maxRequestBytes >= 1024,
                "--max-request-bytes must be at least 1024",
                hint: "the default is 1048576"
            )
            config.maxRequestBytes = maxRequestBytes
            try requireOption(
                (1024...(1 << 40)).contains(maxResponseBytes),
                "--max-response-bytes must be from 1024 to 2^40",
                hint: "the default is 33554432"
            )
            config.maxResponseBytes = maxResponseBytes
            try requireOption(
                (1...86_400).contains(idleTimeout),
                "--idle-timeout must be from 1 to 86400 seconds",
                hint: "the default is 60"
            )
            config.idleTimeout = .seconds(idleTimeout)
            try requireOption(
                (1...1_000_000).contains(maxConnections) && (1...1_000_000).contains(maxConnectionsPerUid),
                "--max-connections and --max-connections-per-uid must be from 1 to 1000000",
                hint: "the defaults are 4096 and 1024"
            )
            config.maxConnections = maxConnections
            config.maxConnectionsPerUID = maxConnectionsPerUid
            try requireOption(
                (60...31_536_000).contains(idempotencyTtl),
                "--idempotency-ttl must be 60 to 31536000 seconds (one year)",
                hint: "the default is 86400 (24 hours)"
            )

            try requireOption(
                (1...86_400).contains(purgeInterval) && Vault.purgeBatches.contains(purgeBatch),
                "--purge-interval must be 1 to 86400 seconds and --purge-batch \(Vault.purgeBatches.lowerBound) to "
                    + "\(Vault.purgeBatches.upperBound)",
                hint: "the defaults are 60 and \(Vault.defaultPurgeBatch)"
            )

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
            // The pid file `cvault policy reload` finds this server by lives in the data folder, which a
            // PostgreSQL store does not otherwise need: made here (0700) so a server is never unreloadable.
            try FileSafety.makePrivateFolder(location.dataFolder)
            // Signals are trapped before anything slow (`ServeSignals` says why the group does not trap them):
            // a SIGHUP or SIGTERM sent during start-up, or as soon as the socket answers, waits in the sequence
            // instead of taking its default action, which kills the process.
            let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
            let policies = PolicyHolder(path: policyPath, logger: logger)
            if case .failure(let error) = policies.reload() { throw error }
            let (store, keyring) = try await location.open(unseal)
            let vault = Vault(
                keyring: keyring,
                store: store.store,
                policies: policies,
                logger: logger,
                idempotencyLifetime: Int64(idempotencyTtl)
            )
            try await vault.recordPolicyLoad("at start")
            for warning in await store.privilegeWarnings() {
                logger.warning(
                    "\(warning)",
                    metadata: ["hint": "run the servers as the role `cvault init` printed SQL for (docs/SCALING.md)"]
                )
            }

            let pidFile = location.dataFolder + "/cvault.pid"
            let server = VaultServer(vault: vault, configuration: config, logger: logger) {
                do throws(VaultError) {
                    try FileSafety.writeAtomically(Array("\(getpid())\n".utf8), to: pidFile)
                } catch {
                    logger.warning(
                        "cannot write the pid file: \(error.message)",
                        metadata: ["hint": "`cvault policy reload` will not find this server; send it SIGHUP instead"]
                    )
                }
            }
            // On SIGTERM or SIGINT `ServeSignals` returns and the group shuts down gracefully, stopping its
            // services in reverse order, each finished before the next: housekeeping, then the server (stop
            // accepting, answer what was received, close every connection, remove the socket). No deadline
            // escalates to cancellation: the server's own grace bounds a client that does not read.
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [
                        .init(service: server),
                        .init(service: ServeHousekeeping(vault: vault, logger: logger)),
                        .init(service: ServeKeyringPickup(vault: vault, logger: logger)),
                        .init(
                            service: ServeRetention(
                                vault: vault,
                                interval: .seconds(purgeInterval),
                                batch: purgeBatch,
                                logger: logger
                            )
                        ),
                        .init(
                            service: ServeSignals(signals: signals, vault: vault, logger: logger),
                            successTerminationBehavior: .gracefullyShutdownGroup
                        ),
                    ],
                    logger: logger
                )
            )
            try await group.run()
            // Every service has stopped and every answer is out: the last records, the final seal, the store.
            await ServeHousekeeping.auditUnknownIdentities(vault, logger: logger, force: true)
            try? await vault.sealAudit()
            await store.close()
            unlink(pidFile)
            logger.notice("stopped")
            // The signals stay trapped to the end: a second SIGTERM during the final seal changes nothing.
            withExtendedLifetime(signals) {}
        }
    }

    /// Refuses an option value out of its range, saying which and what the default is.
    private func requireOption(_ valid: Bool, _ message: String, hint: String) throws(VaultError) {
        guard valid else { throw VaultError(.invalidRequest, message, hint: hint) }
    }

    private func groupID(_ text: String) throws(VaultError) -> gid_t {
        if let gid = gid_t(text) { return gid }
        guard let entry = getgrnam(text) else {
            throw VaultError(.invalidRequest, "no group named \(text)", hint: "give a group name or gid that exists")
        }
        return entry.pointee.gr_gid
    }
}
