import ArgumentParser
import Foundation
import VaultCore

#if canImport(Glibc)
import Glibc
#endif

/// `cvault purge`: the retention purge a server runs in the background, run once on the vault's files.
struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Remove the tokens past their kind's retention (the policy's retention:) and print what went.",
        discussion: """
            Works on the vault's files, in batches of --batch tokens, each one transaction with one `purge` \
            audit record; a subject left with no token loses its data key (its consent and restriction stay). \
            Killed at any moment and run again, it finishes the job. --dry-run only counts, changes nothing and \
            needs no passphrase. A running `cvault serve` purges by itself (--purge-interval).
            """
    )

    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions
    @OptionGroup var policy: PolicyOption

    @Flag(help: "Count what would be removed; change nothing.") var dryRun = false
    @Option(help: ArgumentHelp("Tokens per batch (one transaction and one audit record each).", valueName: "n"))
    var batch = Vault.defaultPurgeBatch

    func run() async throws {
        try await reporting {
            guard Vault.purgeBatches.contains(batch) else {
                throw VaultError(
                    .invalidRequest,
                    "--batch must be \(Vault.purgeBatches.lowerBound) to \(Vault.purgeBatches.upperBound)",
                    hint: "the default is \(Vault.defaultPurgeBatch)"
                )
            }
            let policies = try VaultSession.loadPolicy(policy)
            let pass = RetentionPass(policy: policies.current, now: VaultClock.system.now())
            guard !pass.isEmpty else {
                print("the policy sets no retention: nothing to purge")
                return
            }
            if dryRun {
                for line in try await Self.dryRun(pass, store: location.openStore()) { print(line) }
            } else {
                for line in try await purge(policies) { print(line) }
            }
        }
    }

    /// Counts only: the database opened without the keyring, no record written.
    static func dryRun(_ pass: RetentionPass, store: OpenedStore) async throws -> [String] {
        let due: [Kind: Int]
        do {
            due = try await store.store.read { try pass.due(in: $0) }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        let total = due.values.reduce(0, +)
        return ["would remove \(Self.count(total, "token")), and the data key of each subject left with none (dry run)"]
            + pass.cutoffs.map { "\($0.kind.rawValue): \(Self.count(due[$0.kind] ?? 0, "token"))" + Self.created($0) }
    }

    /// The purge, recorded like every offline command's work: the policy load, one record per batch, a seal.
    private func purge(_ policies: PolicyHolder) async throws -> [String] {
        let (store, keyring) = try await location.open(unseal)
        let vault = Vault(keyring: keyring, store: store.store, policies: policies, logger: quietLogger())
        let tally: PurgeTally
        do {
            try await vault.recordPolicyLoad("for an offline command")
            tally = try await vault.purgeExpired(batch: batch, uid: getuid())
        } catch {
            // The batches that committed are recorded: seal them before saying what failed.
            try? await vault.sealAudit()
            await store.close()
            throw error
        }
        try await vault.sealAudit()
        await store.close()
        var lines = [
            "removed \(Self.count(tally.totalTokens, "token")) and \(Self.count(tally.totalDataKeys, "data key")) in "
                + Self.count(tally.records, "batch", "batches")
        ]
        lines += tally.cutoffs.map { cutoff in
            "\(cutoff.kind.rawValue): \(Self.count(tally.tokens[cutoff.kind] ?? 0, "token")), "
                + Self.count(tally.dataKeys[cutoff.kind] ?? 0, "data key") + Self.created(cutoff)
        }
        if !tally.scrubbed {
            lines.append(
                "old copies of the removed rows are not yet scrubbed from the write-ahead log (another connection "
                    + "kept reading an older state); the next purge or erase scrubs them"
            )
        }
        return lines
    }

    /// `1 token`, `2 tokens`.
    private static func count(_ n: Int, _ one: String, _ many: String? = nil) -> String {
        "\(n) " + (n == 1 ? one : many ?? one + "s")
    }

    private static func created(_ cutoff: RetentionPass.Cutoff) -> String {
        " (created before \(VaultClock.iso8601(cutoff.before)))"
    }
}
