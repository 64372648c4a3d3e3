import ArgumentParser
import Foundation
import VaultCore

#if canImport(Glibc)
import Glibc
#endif

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure cvault over its socket against the raw speed limit (Tools/bench/limit.c), in one run.",
        discussion: """
            Creates a throwaway vault in a temp folder, starts `cvault serve` on it (this executable, so build \
            with -c release), and drives it over the socket from one thread with plain sockets, checking every \
            answer: tokenize and detokenize, 1 and 64 clients (one connection each, one call in flight each), 1 \
            and 256 values per call, for --duration each. Compiles limit.c in the same folder and runs it at the \
            matching batch sizes (1; 64 for 64 clients × 1 value; 256 for a call of 256) before each of \
            --rounds rounds, then prints each scenario's median round, its spread, and its values/s as a ratio \
            of the limit's median. Latency is per call, from HdrHistogram.
            """,
        // `cvault bench report`: an access report on a large audit log (docs/BENCHMARKS.md).
        subcommands: [ReportBenchCommand.self]
    )

    @Option(help: ArgumentHelp("Seconds per scenario.", valueName: "s")) var duration: Double = 5
    @Option(help: ArgumentHelp(Help.limitSource, valueName: "file")) var limitSource: String?
    @Flag(help: "Skip the speed limit.") var noLimit = false
    @Option(help: ArgumentHelp(Help.limitValues, valueName: "n")) var limitValues = 4000
    @Option(help: ArgumentHelp("The cvault executable to serve with (default: this one).", valueName: "file"))
    var server: String?
    @Option(help: ArgumentHelp("Parent folder of the temp folder (its disk is what is measured).", valueName: "dir"))
    var folder = "/tmp"
    @Option(help: "The server's log level.") var logLevel = "error"
    @Option(help: ArgumentHelp(Help.only, valueName: "list")) var only: String?
    @Flag(help: "Keep the temp folder (vault, logs) afterwards.") var keep = false
    @Option(help: ArgumentHelp(Help.rounds, valueName: "n")) var rounds = 3
    @Option(help: ArgumentHelp(Help.store, valueName: "url")) var store: String?
    @Option(help: ArgumentHelp(Help.servers, valueName: "n")) var servers = 1

    /// The options' longer help texts, kept apart so each option stays one declaration on one line.
    private enum Help {
        static let limitSource =
            "limit.c to compile (default: the repository's \(SpeedLimit.sourceInRepository), found from this executable or the current folder)."
        static let limitValues =
            "Values per limit run at batch 1 (larger batches run 64× and 128× as many, at most 200000)."
        static let only = "Only these scenarios, comma-separated (e.g. \"tokenize 64 x 1,detokenize 1 x 256\")."
        static let store =
            "Serve from this store (a new, empty PostgreSQL database: postgres://…) instead of SQLite in the temp folder; not CVAULT_STORE, so a bench never writes into a vault by accident."
        static let servers =
            "How many `cvault serve` processes share the store, each on its own socket (needs --store); clients are spread over them in turn."
        static let rounds =
            "Every scenario, and the limit, runs this many times, interleaved; the report shows each one's median run and the spread (these shared machines vary by ±25% from run to run)."
    }

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard duration > 0 else { throw ValidationError("--duration must be more than 0 seconds") }
        guard (1...16).contains(servers) else { throw ValidationError("--servers must be from 1 to 16") }
        guard servers == 1 || store != nil else {
            throw ValidationError("--servers above 1 needs --store: several servers share a PostgreSQL database")
        }
    }

    func run() async throws {
        try await reporting {
            let root = try Self.makeTempFolder(in: folder)
            defer { if !keep { try? FileManager.default.removeItem(atPath: root) } else { print("kept \(root)") } }
            let executable = server ?? Self.ownExecutable()

            var limitRuns: [Int: [SpeedLimit.Figures]] = [:]
            let limit = noLimit ? nil : try SpeedLimit.compile(source: try Self.limitSource(limitSource), into: root)

            printProgress("starting \(servers == 1 ? "" : "\(servers) × ")\(executable) serve in \(root)")
            let vault = try await BenchServer.start(
                executable: executable,
                folder: root,
                logLevel: logLevel,
                store: store,
                count: servers
            )
            defer { vault.stop() }
            let driver = BenchDriver(
                socketPaths: vault.socketPaths,
                duration: .milliseconds(Int(duration * 1000)),
                serverPIDs: vault.pids
            )

            var runs: [[BenchResult]] = []
            var tokens: [String] = []
            let shapes = [(1, 1), (64, 1), (1, 256), (64, 256)]
            for repetition in 0..<rounds {
                // The limit runs between cvault's rounds, so both see the machine in the same moods.
                if let limit {
                    for (batch, perCall) in SpeedLimit.runs {
                        let values = min(200_000, limitValues * (batch == 1 ? 1 : batch == 64 ? 64 : 128))
                        printProgress("round \(repetition + 1): limit batch \(batch), \(values) values")
                        limitRuns[batch, default: []].append(
                            try limit.run(values: values, batch: batch, perCall: perCall, folder: root)
                        )
                    }
                }
                var index = 0
                for method in [BenchScenario.Method.tokenize, .detokenize] {
                    for (shape, (clients, perCall)) in shapes.enumerated() {
                        let scenario = BenchScenario(method: method, clients: clients, perCall: perCall)
                        if let only, !Self.selected(scenario, only) { continue }
                        if method == .detokenize && tokens.isEmpty {
                            // Only detokenize scenarios were asked for: make tokens to look up first, unreported.
                            printProgress("making tokens for detokenize")
                            let seed = BenchScenario(method: .tokenize, clients: 64, perCall: 256)
                            tokens = try await driver.run(seed, round: 9, tokens: [], duration: .seconds(2)).1
                        }
                        printProgress("round \(repetition + 1): \(scenario.name)")
                        // Subject names carry the round, so every round creates its subjects anew.
                        let (result, kept) = try await driver.run(
                            scenario,
                            round: (repetition + 1) * 10 + shape,
                            tokens: tokens
                        )
                        if method == .tokenize {
                            tokens += kept.prefix(max(0, BenchDriver.keptTokensMax - tokens.count))
                        }
                        if repetition == 0 { runs.append([]) }
                        runs[index].append(result)
                        index += 1
                    }
                }
            }
            vault.stop()
            print(BenchReport(runs: runs, limitRuns: limitRuns, duration: duration).markdown)
        }
    }

    private func printProgress(_ text: String) {
        FileHandle.standardError.write("cvault bench: \(text)\n")
    }

    /// Names match with `x` or `×`, and extra spaces are ignored.
    static func selected(_ scenario: BenchScenario, _ list: String) -> Bool {
        func canonical(_ s: some StringProtocol) -> String {
            s.replacingOccurrences(of: "×", with: "x").split(separator: " ").joined(separator: " ")
        }
        return list.split(separator: ",").contains { canonical($0) == canonical(scenario.name) }
    }

    /// `--limit-source` when given; else the repository's own limit, found from this executable or the
    /// current folder (`SpeedLimit.sourceInCheckout`), so a clean clone needs nothing beside it.
    static func limitSource(_ given: String?) throws -> String {
        if let given { return given }
        let folder = FileManager.default.currentDirectoryPath
        guard let found = SpeedLimit.sourceInCheckout(executable: ownExecutable(), currentFolder: folder) else {
            throw VaultError(
                .invalidRequest,
                "no \(SpeedLimit.sourceInRepository) found above this executable or \(folder)",
                hint: "run from a cvault checkout, pass --limit-source PATH, or --no-limit"
            )
        }
        return found
    }

    static func ownExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func makeTempFolder(in parent: String) throws -> String {
        var template = Array("\(parent)/cvault-bench-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw VaultError(.storage, "cannot make a temp folder in \(parent)", hint: "pass --folder DIR")
        }
        return String(cString: made)
    }
}
