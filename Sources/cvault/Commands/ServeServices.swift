import Logging
import ServiceLifecycle
import UnixSignals
import VaultCore

/// `cvault serve`'s signals, as one service of its `ServiceGroup`: SIGHUP reloads the policy (a broken one is
/// refused and the old one stays) and goes on; SIGTERM or SIGINT ends the service, which the group is told to
/// answer with a graceful shutdown (`ServeCommand`).
///
/// The sequence is made by `ServeCommand` before start-up, not by the group: a `ServiceGroup` traps its
/// signals only when `run()` starts, after the unseal (Argon2id, about a second), and a SIGTERM or SIGHUP in
/// that window would take its default action and kill the process. Made early, a signal sent during start-up
/// waits in the sequence, as one sent as soon as the socket answers does.
struct ServeSignals: Service {
    let signals: UnixSignalsSequence
    let vault: Vault
    let logger: Logger

    func run() async {
        for await signal in signals {
            guard signal != .sighup else {
                await vault.reloadPolicy("on SIGHUP")
                continue
            }
            logger.notice("shutting down", metadata: ["signal": "\(signal.rawValue)"])
            return
        }
    }
}

/// Picks up keyring changes made by another process (the CLI's `keys …`, run on any host for a keyring kept in
/// the database), as one service of `cvault serve`'s group: every `KeyringSource.pickupInterval` (a file's
/// stat and read once a second; the database's generation, one cheap query, four times a second, so a
/// rotation reaches every server within a second of being stored).
struct ServeKeyringPickup: Service {
    let vault: Vault
    let logger: Logger

    func run() async {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        // A reload failure that persists (a keyring re-sealed under a new root key needs a restart) is logged
        // once, not at every poll.
        var lastReloadError: String?
        let interval = vault.keyring.source.pickupInterval
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            do {
                try await vault.reloadKeyringIfChanged()
                lastReloadError = nil
            } catch {
                if lastReloadError != "\(error)" {
                    logger.error("keyring reload failed; the keys in force stay", metadata: ["error": "\(error)"])
                }
                lastReloadError = "\(error)"
            }
        }
    }
}

/// The server's once-a-second work, as one service of `cvault serve`'s group: write the aggregated unknown-uid
/// records whose window is over, and seal the audit head; purge expired idempotency records once a minute (a
/// write that finds none changes nothing and costs no fsync).
/// It stops at the start of the graceful shutdown, before the server does (the group stops its services in
/// reverse order and waits for each).
struct ServeHousekeeping: Service {
    let vault: Vault
    let logger: Logger

    func run() async {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        var tick = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            if Task.isCancelled { return }
            await Self.auditUnknownIdentities(vault, logger: logger, force: false)
            try? await vault.sealAudit()
            tick += 1
            if tick % 60 == 0 {
                do { _ = try await vault.purgeExpiredIdempotency() } catch {
                    logger.error("purging expired idempotency records failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Writes the unknown-uid `connect` records (one per uid per window) and logs one warning per uid.
    static func auditUnknownIdentities(_ vault: Vault, logger: Logger, force: Bool) async {
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
}

/// The retention purge of `cvault serve`, as one service of its group (docs/DESIGN.md, "Retention"): every
/// `interval`, a pass of `Vault.purgeExpired` in batches of `batch` tokens, each one write with one audit record.
/// Between two batches it pauses as long as the last one took (at least `minimumPause`), so the purge holds the
/// writer at most about half the time and the requests queued behind a batch go first. It stops at the start
/// of the graceful shutdown; a pass cut short there, or by a kill, is finished by the next one.
struct ServeRetention: Service {
    let vault: Vault
    let interval: Duration
    let batch: Int
    let logger: Logger

    static let minimumPause = Duration.milliseconds(10)

    func run() async {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            do {
                let tally = try await vault.purgeExpired(batch: batch) { took in
                    try? await Task.sleep(for: max(took, Self.minimumPause))
                    return !Task.isCancelled
                }
                guard tally.totalTokens > 0 else { continue }
                logger.info(
                    "retention purge",
                    metadata: [
                        "tokens": "\(tally.totalTokens)", "data_keys": "\(tally.totalDataKeys)",
                        "batches": "\(tally.records)", "scrubbed": "\(tally.scrubbed)",
                    ]
                )
            } catch {
                logger.error("retention purge failed; the next pass retries", metadata: ["error": "\(error)"])
            }
        }
    }
}
