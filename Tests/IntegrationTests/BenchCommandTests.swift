import Foundation
import Testing

/// `cvault bench` (docs/BENCHMARKS.md): a short real run proves the driver, the rounds, the report and the
/// limit comparison work end to end. Speed itself is never asserted here (the README: measure with the
/// benchmark, not with timed tests).
@Suite("cvault bench") struct BenchCommandTests {
    /// The repository's own limit, which a clean clone has.
    static let limitSource = ServerBinaries.packageRoot + "/Tools/bench/limit.c"

    @Test("a short run of three scenarios in two rounds reports every one, with the repository's limit")
    func shortRun() async throws {
        let parent = try makeTemporaryFolder(prefix: "bench")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let scenarios = ["tokenize 1 × 1", "tokenize 64 × 1", "detokenize 1 × 256"]
        let run = try await CVaultProcess.run(
            [
                "bench", "--duration", "0.3", "--rounds", "2", "--folder", parent, "--only",
                "tokenize 1 x 1,tokenize 64 x 1,detokenize 1 x 256", "--limit-source", Self.limitSource,
                "--limit-values", "20",
            ],
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
            #expect(cells[10].hasSuffix("%"), "no ratio to the limit: \(row)")
        }
        let targets = run.lines.filter { $0.hasPrefix("- ") }
        #expect(
            targets.contains {
                $0.hasPrefix("- tokenize 64 × 1 ≥ 50% of the limit: met")
                    || $0.hasPrefix("- tokenize 64 × 1 ≥ 50% of the limit: MISSED")
            }
        )
        #expect(targets.contains("- detokenize 64 × 1 ≥ 50% of the limit: not measured"))
        #expect(run.stderr.contains("cvault bench: round 2: detokenize 1 × 256"))
        // The throwaway vault, its socket and the limit's databases are gone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent).isEmpty)
    }

    /// A clone has nothing beside it: with no `--limit-source`, `cvault bench` finds the repository's limit from
    /// its own executable (built under the checkout's `.build`), run from a folder outside any checkout whose
    /// parent holds no `shared` folder, and compiles and runs it; the report then has the limit's columns.
    @Test("with no --limit-source the repository's own limit is found and used, from any folder")
    func defaultLimitIsTheRepositorysOwn() async throws {
        #expect(FileManager.default.fileExists(atPath: Self.limitSource))
        let parent = try makeTemporaryFolder(prefix: "bench-default")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let elsewhere = parent + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: false)
        #expect(!FileManager.default.fileExists(atPath: parent + "/shared"))
        let run = try await CVaultProcess.run(
            [
                "bench", "--duration", "0.2", "--rounds", "1", "--folder", parent, "--only", "detokenize 64 x 1",
                "--limit-values", "10",
            ],
            environment: [:],
            directory: elsewhere
        )
        #expect(run.status == 0, "bench failed: \(run.stderr)")
        let row = try #require(run.lines.first { $0.hasPrefix("| detokenize 64 × 1 |") })
        let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(cells[9].hasSuffix("(64)") && cells[10].hasSuffix("%"), "no limit in: \(row)")
        #expect(run.stderr.contains("cvault bench: round 1: limit batch 256"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["elsewhere"])
    }

    /// The search's other half and its failure, with a copy of the executable outside any checkout: run from a
    /// folder inside the checkout (its `.build`, where the tests were built) it finds the limit there (and
    /// compiles it: the run gets as far as starting
    /// the server, here one that does not exist); run from outside it refuses with a hint, compiling nothing.
    @Test("the limit is looked for from the current folder too, and its absence is refused with a hint")
    func limitSourceFromTheCurrentFolder() async throws {
        let outside = try makeTemporaryFolder(prefix: "bench-search")
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let copy = outside + "/cvault"
        try FileManager.default.copyItem(atPath: CVaultProcess.executable, toPath: copy)
        let missing = outside + "/no-such-cvault"

        let inside = try runProcess(
            copy,
            ["bench", "--rounds", "1", "--folder", outside, "--server", missing],
            environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"],
            directory: ServerBinaries.packageRoot + "/.build",
            timeout: 120
        )
        #expect(inside.status != 0)
        #expect(inside.stderr.contains("cvault bench: starting \(missing) serve"), "\(inside.stderr)")

        let away = try runProcess(
            copy,
            ["bench", "--rounds", "1", "--folder", outside],
            environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"],
            directory: outside,
            timeout: 120
        )
        #expect(away.status != 0)
        #expect(away.stderr.contains("cvault: error: no Tools/bench/limit.c found above this executable or "))
        #expect(
            away.stderr.contains("cvault: hint: run from a cvault checkout, pass --limit-source PATH, or --no-limit")
        )
        #expect(!away.stderr.contains("cvault bench: starting"))
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
