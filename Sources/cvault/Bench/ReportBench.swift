import ArgumentParser
import Foundation
import VaultCore
import VaultSQLite

#if canImport(Glibc)
import Glibc
#endif

/// `cvault bench report`: the time of one customer's access report on a vault with a large audit log
/// (docs/BENCHMARKS.md). The log is built in large write transactions through the vault's own append path
/// (`BenchEntryPoints`), so a million records take a minute, not the hours of a call each.
struct ReportBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Time a customer's access report on a throwaway vault with a large audit log.",
        discussion: """
            Creates a vault in a temp folder (the keyring under a random passphrase, SQLite as `cvault serve` \
            uses it), tokenizes and reveals a few values of the measured customer, appends --records detokenize \
            records in which one in --every also names that customer, then issues its report --runs times (each \
            is audited, so each covers one more record) and prints the timings as a BENCHMARKS.md entry. \
            Nothing else may run: it measures the machine.
            """
    )

    @Option(help: ArgumentHelp("Audit records to append.", valueName: "n")) var records = 1_000_000
    @Option(help: ArgumentHelp("One record in this many concerns the measured customer.", valueName: "n"))
    var every = 1_000
    @Option(help: ArgumentHelp("Other customers the records name.", valueName: "n")) var subjects = 10_000
    @Option(help: ArgumentHelp("Records per write transaction.", valueName: "n")) var perWrite = 10_000
    @Option(help: ArgumentHelp("Reports to time.", valueName: "n")) var runs = 5
    @Option(help: ArgumentHelp("Parent folder of the temp folder (its disk is what is measured).", valueName: "dir"))
    var folder = "/tmp"
    @Flag(help: "Keep the temp folder afterwards.") var keep = false

    func validate() throws {
        guard records >= 1, every >= 1, subjects >= 1, perWrite >= 1, runs >= 1 else {
            throw ValidationError("--records, --every, --subjects, --per-write and --runs must be at least 1")
        }
    }

    func run() async throws {
        try await reporting {
            let root = try BenchCommand.makeTempFolder(in: folder)
            defer { if !keep { try? FileManager.default.removeItem(atPath: root) } else { print("kept \(root)") } }
            let (vault, store) = try Self.makeVault(in: root)
            let caller = try vault.caller(uid: getuid())
            let target = try Subject("cust-measured")
            // A real history first: values of three kinds, revealed plain and masked.
            for (kind, value) in [(Kind.email, "measured@example.com"), (.card, "4111111111111111"), (.name, "Ada M")] {
                let request = TokenizeRequest(kind: kind, subject: target, values: [value])
                let tokens = try await vault.tokenize(request, caller: caller)
                _ = try await vault.detokenize(tokens, purpose: try Purpose("view"), caller: caller)
                _ = try await vault.detokenize(tokens, purpose: try Purpose("glance"), caller: caller)
            }
            progress("appending \(records) audit records, \(perWrite) to a transaction")
            let others = try (0..<subjects).map { try Subject("cust-\($0)") }
            let building = ContinuousClock.now
            let concerning = try await BenchEntryPoints.appendDetokenizeHistory(
                to: vault,
                count: records,
                perWrite: perWrite,
                target: target,
                every: every,
                others: others,
                caller: caller,
                purpose: try Purpose("view")
            )
            let built = ContinuousClock.now - building
            try await vault.sealAudit()
            let total = try await vault.stats().auditRecords
            var times: [Duration] = []
            var fileBytes = 0
            var disclosures = 0
            var events = 0
            for run in 1...runs {
                progress("report \(run) of \(runs)")
                let started = ContinuousClock.now
                let statement = try await vault.report(subject: target, caller: caller)
                times.append(ContinuousClock.now - started)
                fileBytes = statement.fileBytes.count
                if case .array(let items)? = statement.body.json["disclosures"] { disclosures = items.count }
                if case .array(let items)? = statement.body.json["events"] { events = items.count }
            }
            await store.close()
            print(
                Self.entry(
                    total: total,
                    concerning: concerning,
                    built: built,
                    times: times,
                    disclosures: disclosures,
                    events: events,
                    fileBytes: fileBytes
                )
            )
        }
    }

    /// A vault in `root`: keyring (random passphrase, the production KDF), a fresh SQLite database, and a policy
    /// giving this process's uid what the benchmark does.
    static func makeVault(in root: String) throws -> (Vault, SQLiteStore) {
        for folder in ["keys", "data"] {
            try FileManager.default.createDirectory(
                atPath: "\(root)/\(folder)",
                withIntermediateDirectories: false,
                attributes: [.posixPermissions: 0o700]
            )
        }
        var passphrase = Array(Hex.encode(SecureRandom.bytes(16)).utf8)
        let keyring = try Keyring.create(
            at: "\(root)/keys/cvault.keyring",
            credential: .passphrase(SecureBytes(consuming: &passphrase))
        )
        let store = try SQLiteStore.create(at: "\(root)/data/cvault.db")
        let policy = try Policy.parse(
            yaml: """
                identities:
                  - {name: bench, uid: \(getuid()), roles: [bench]}
                roles:
                  bench:
                    tokenize: [email, card, name]
                    detokenize:
                      - {kinds: [email, card, name], purposes: [view], reveal: plain}
                      - {kinds: [email, card, name], purposes: [glance], reveal: masked}
                    report: true
                """
        )
        let policies = PolicyHolder(path: "", initial: policy, logger: quietLogger())
        return (Vault(keyring: keyring, store: store, policies: policies, logger: quietLogger()), store)
    }

    /// The result as a BENCHMARKS.md entry's table.
    static func entry(
        total: Int,
        concerning: Int,
        built: Duration,
        times: [Duration],
        disclosures: Int,
        events: Int,
        fileBytes: Int
    ) -> String {
        let ms = times.map { $0 / .milliseconds(1) }.sorted()
        let median = ms[ms.count / 2]
        let format = { (value: Double) in String(format: "%.1f", value) }
        return """
            | audit records | appended about the customer | report: disclosures, events | statement | report: median (min–max) of \(ms.count) |
            |---|---|---|---|---|
            | \(total) | \(concerning) | \(disclosures), \(events) | \(fileBytes / 1024) KiB | \(format(median)) ms (\(format(ms[0]))–\(format(ms[ms.count - 1])) ms) |

            Log built in \(format(built / .seconds(1))) s (\(total) records in write transactions of the --per-write size).
            """
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write("cvault bench report: \(text)\n")
    }
}
