#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Dispatch
import Foundation
import Logging
import VaultCore
import VaultServer
import VaultSQLite

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the JSON-RPC API on a Unix socket until SIGTERM or SIGINT (docs/PROTOCOL.md).",
        discussion: """
            SIGHUP reloads the policy (a broken one is refused and the old one stays). Key rotations made with \
            the CLI are picked up within a second. On SIGTERM/SIGINT the server stops accepting, answers what it \
            received, seals the audit log, removes the socket and exits 0.
            """)

    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions
    @OptionGroup var policy: PolicyOption

    @Option(help: ArgumentHelp("Socket path (env CVAULT_SOCKET; default ./cvault.sock).", valueName: "path")) var socket: String?
    @Option(help: ArgumentHelp("Socket file mode, octal.", valueName: "mode")) var socketMode = "0660"
    @Option(help: ArgumentHelp("Group (name or gid) to own the socket file.", valueName: "group")) var socketGroup: String?
    @Option(help: ArgumentHelp("Longest request line accepted, in bytes.", valueName: "n")) var maxRequestBytes = 1 << 20
    @Option(help: "trace, debug, info, notice, warning, error or critical.") var logLevel = "info"

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
                throw VaultError(.invalidRequest, "--socket-mode \(socketMode) is not an octal mode", hint: "write it like 0660")
            }
            config.socketMode = mode
            config.socketGroup = try socketGroup.map(groupID)
            guard maxRequestBytes >= 1024 else {
                throw VaultError(.invalidRequest, "--max-request-bytes must be at least 1024", hint: "the default is 1048576")
            }
            config.maxRequestBytes = maxRequestBytes

            guard let policyPath = policy.path else {
                throw VaultError(.policy, "no policy file: a server never starts without one", hint: "pass --policy FILE or set CVAULT_POLICY")
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
            let keyring = try Keyring.open(at: location.keyringPath, credential: unseal.credential(keyringPath: location.keyringPath))
            let vault = Vault(keyring: keyring, store: store, policies: policies, logger: logger)
            try await vault.audit("policy_load", caller: nil, detail: "\(policyPath) at start")

            let server = VaultServer(vault: vault, configuration: config, logger: logger)
            let listener = try await server.start()
            let pidFile = location.dataFolder + "/cvault.pid"
            try? FileSafety.writeAtomically(Array("\(getpid())\n".utf8), to: pidFile)

            let housekeeping = Task {
                // Pick up key rotations made with the CLI, and seal the audit head, once a second.
                // A failure that persists (a keyring re-sealed under a new root key needs a restart) is logged
                // once, not every second.
                var lastReloadError: String?
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    do {
                        try vault.reloadKeyringIfChanged()
                        lastReloadError = nil
                    } catch {
                        if lastReloadError != "\(error)" {
                            logger.error("keyring reload failed; the keys in force stay", metadata: ["error": "\(error)"])
                        }
                        lastReloadError = "\(error)"
                    }
                    try? await vault.sealAudit()
                }
            }
            for await signal in signals {
                if signal == SIGHUP {
                    switch policies.reload() {
                    case .success: try? await vault.audit("policy_load", caller: nil, detail: "\(policyPath) on SIGHUP")
                    case .failure(let error):
                        try? await vault.audit("policy_load", caller: nil, outcome: "refused", reason: error.message)
                    }
                    continue
                }
                logger.notice("shutting down", metadata: ["signal": "\(signal)"])
                break
            }
            housekeeping.cancel()
            await server.shutdown(listener: listener)
            try? await vault.sealAudit()
            await store.close()
            unlink(pidFile)
            logger.notice("stopped")
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
    func cancel() { sources.forEach { $0.cancel() } }
}
