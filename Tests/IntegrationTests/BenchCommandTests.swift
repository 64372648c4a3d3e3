import Foundation
import Testing

/// `cvault bench` (docs/BENCHMARKS.md): a short real run proves the driver, the rounds, the report and the
/// limit comparison work end to end. Speed itself is never asserted here (the README: measure with the
/// benchmark, not with timed tests).
@Suite("cvault bench") struct BenchCommandTests {
    static let limitSource = ServerBinaries.packageRoot + "/../shared/bench/limit.c"

    @Test("a short run of three scenarios in two rounds reports every one, with the limit when it is there")
    func shortRun() async throws {
        let parent = try makeTemporaryFolder(prefix: "bench")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let withLimit = FileManager.default.fileExists(atPath: Self.limitSource)
        let scenarios = ["tokenize 1 × 1", "tokenize 64 × 1", "detokenize 1 × 256"]
        let run = try await CVaultProcess.run(
            [
                "bench", "--duration", "0.3", "--rounds", "2", "--folder", parent, "--only",
                "tokenize 1 x 1,tokenize 64 x 1,detokenize 1 x 256",
            ]
                + (withLimit ? ["--limit-source", Self.limitSource, "--limit-values", "20"] : ["--no-limit"]),
            environment: [:]
        )
        #expect(run.status == 0, "bench failed: \(run.stderr)")
        #expect(run.stdout.contains("Median of 2 rounds of 0.3 s per scenario"))

        let rows = run.lines.filter { $0.hasPrefix("| ") && !$0.hasPrefix("| scenario") }
        #expect(rows.map { $0.split(separator: "|")[0].trimmingCharacters(in: .whitespaces) } == scenarios)
        for row in rows {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let calls = Int(cells[1]) ?? 0
            let rate = Double(cells[2].replacingOccurrences(of: ",", with: "")) ?? 0
            #expect(calls > 0 && rate > 0, "\(cells[0]) measured nothing: \(row)")
            // The spread of two rounds brackets the median round.
            let spread = cells[3].split(separator: "–").compactMap {
                Double($0.replacingOccurrences(of: ",", with: ""))
            }
            #expect(
                spread.count == 2 && spread[0] <= rate.rounded() && rate.rounded() <= spread[1],
                "spread \(cells[3]) for \(cells[2])"
            )
            if withLimit {
                #expect(cells[10].hasSuffix("%"), "no ratio to the limit: \(row)")
            }
        }
        let targets = run.lines.filter { $0.hasPrefix("- ") }
        if withLimit {
            #expect(
                targets.contains {
                    $0.hasPrefix("- tokenize 64 × 1 ≥ 50% of the limit: met")
                        || $0.hasPrefix("- tokenize 64 × 1 ≥ 50% of the limit: MISSED")
                }
            )
        }
        #expect(targets.contains("- detokenize 64 × 1 ≥ 50% of the limit: not measured"))
        #expect(run.stderr.contains("cvault bench: round 2: detokenize 1 × 256"))
        // The throwaway vault, its socket and the limit's databases are gone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent).isEmpty)
    }

    @Test("nonsense options are refused before anything starts")
    func refusesBadOptions() async throws {
        let rounds = try await CVaultProcess.run(["bench", "--rounds", "0", "--no-limit"], environment: [:])
        #expect(rounds.status == 64)
        #expect(rounds.stderr.contains("--rounds must be at least 1"))
        let duration = try await CVaultProcess.run(["bench", "--duration", "0", "--no-limit"], environment: [:])
        #expect(duration.status == 64)
        #expect(duration.stderr.contains("--duration must be more than 0 seconds"))
    }
}
