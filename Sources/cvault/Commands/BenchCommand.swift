#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import VaultCore

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure cvault over its socket against the raw speed limit (shared/bench/limit.c), in one run.",
        discussion: """
            Creates a throwaway vault in a temp folder, starts `cvault serve` on it (this executable, so build \
            with -c release), and drives it through VaultClient: tokenize and detokenize, 1 and 64 clients (one \
            connection each, one call in flight each), 1 and 256 values per call, for --duration each. Compiles \
            and runs limit.c in the same folder at the matching batch sizes (1; 64 for 64 clients × 1 value; \
            256) and prints cvault's values/s as a ratio of it. Latency is per call, from HdrHistogram.
            """)

    @Option(help: ArgumentHelp("Seconds per scenario.", valueName: "s")) var duration: Double = 5
    @Option(help: ArgumentHelp("limit.c to compile (default ../shared/bench/limit.c from the repository root).", valueName: "file"))
    var limitSource = "../shared/bench/limit.c"
    @Flag(help: "Skip the speed limit.") var noLimit = false
    @Option(help: ArgumentHelp("Values per limit run at batch 1 (larger batches run 64× and 128× as many, at most 200000).", valueName: "n"))
    var limitValues = 4000
    @Option(help: ArgumentHelp("The cvault executable to serve with (default: this one).", valueName: "file")) var server: String?
    @Option(help: ArgumentHelp("Parent folder of the temp folder (its disk is what is measured).", valueName: "dir")) var folder = "/tmp"
    @Option(help: "The server's log level.") var logLevel = "error"
    @Option(help: ArgumentHelp("Only these scenarios, comma-separated (e.g. \"tokenize 64 x 1,detokenize 1 x 256\").", valueName: "list"))
    var only: String?
    @Flag(help: "Keep the temp folder (vault, logs) afterwards.") var keep = false

    func run() async throws {
        try await reporting {
            let root = try Self.makeTempFolder(in: folder)
            defer { if !keep { try? FileManager.default.removeItem(atPath: root) } else { print("kept \(root)") } }
            let executable = server ?? Self.ownExecutable()

            var limits: [Int: SpeedLimit.Figures] = [:]
            if !noLimit {
                let limit = try SpeedLimit.compile(source: limitSource, into: root)
                for batch in [1, 64, 256] {
                    let values = min(200_000, limitValues * (batch == 1 ? 1 : batch == 64 ? 64 : 128))
                    printProgress("limit batch \(batch), \(values) values")
                    limits[batch] = try limit.run(values: values, batch: batch, folder: root)
                }
            }

            printProgress("starting \(executable) serve in \(root)")
            let vault = try await BenchServer.start(executable: executable, folder: root, logLevel: logLevel)
            defer { vault.stop() }
            let driver = BenchDriver(socketPath: vault.socketPath, duration: .milliseconds(Int(duration * 1000)), serverPID: vault.pid)

            var results: [BenchResult] = []
            var tokens: [String] = []
            let shapes = [(1, 1), (64, 1), (1, 256), (64, 256)]
            for method in [BenchScenario.Method.tokenize, .detokenize] {
                for (round, (clients, perCall)) in shapes.enumerated() {
                    let scenario = BenchScenario(method: method, clients: clients, perCall: perCall)
                    if let only, !Self.selected(scenario, only) { continue }
                    if method == .detokenize && tokens.isEmpty {
                        // Only detokenize scenarios were asked for: make tokens to look up first, unreported.
                        printProgress("making tokens for detokenize")
                        let seed = BenchScenario(method: .tokenize, clients: 64, perCall: 256)
                        tokens = try await driver.run(seed, round: 9, tokens: [], duration: .seconds(2)).1
                    }
                    printProgress(scenario.name)
                    let (result, kept) = try await driver.run(scenario, round: round, tokens: tokens)
                    if method == .tokenize { tokens += kept.prefix(max(0, BenchDriver.keptTokensMax - tokens.count)) }
                    results.append(result)
                }
            }
            vault.stop()
            print(BenchReport(results: results, limits: limits, duration: duration).markdown)
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
