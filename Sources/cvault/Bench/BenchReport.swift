import Foundation

/// The benchmark's answer: a Markdown table (it reads as well in a terminal as in docs/BENCHMARKS.md) and
/// the issue's targets, each met or missed.
struct BenchReport {
    /// Each scenario's median round (by values per second).
    let results: [BenchResult]
    /// Each scenario's slowest and fastest round, by name.
    let spread: [String: (low: Double, high: Double)]
    /// The limit's median per batch size, each figure on its own.
    let limits: [Int: SpeedLimit.Figures]
    let rounds: Int
    let duration: Double

    /// `runs`: one list per scenario, one result per round.
    init(runs: [[BenchResult]], limitRuns: [Int: [SpeedLimit.Figures]], duration: Double) {
        results = runs.compactMap { rounds in
            rounds.sorted { $0.valuesPerSecond < $1.valuesPerSecond }[(rounds.count - 1) / 2]
        }
        var spread: [String: (low: Double, high: Double)] = [:]
        for rounds in runs where !rounds.isEmpty {
            let rates = rounds.map(\.valuesPerSecond)
            spread[rounds[0].scenario.name] = (rates.min()!, rates.max()!)
        }
        self.spread = spread
        limits = limitRuns.mapValues { figures in
            SpeedLimit.Figures(
                indexTokenize: Self.median(figures.map(\.indexTokenize)),
                appendTokenize: Self.median(figures.map(\.appendTokenize)),
                indexDetokenize: Self.median(figures.map(\.indexDetokenize)),
                appendDetokenize: Self.median(figures.map(\.appendDetokenize))
            )
        }
        rounds = runs.map(\.count).max() ?? 0
        self.duration = duration
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        return values.sorted()[(values.count - 1) / 2]
    }

    var markdown: String {
        var lines: [String] = []
        lines.append(
            "Median of \(rounds) round\(rounds == 1 ? "" : "s") of \(Self.fixed(duration, 1)) s per scenario; the limit is the median of its runs."
        )
        lines.append("")
        lines.append(
            "| scenario | calls | values/s | slowest–fastest round | p50 ms | p99 ms | p99.9 ms | server CPU µs/value | driver CPU µs/value | limit index (batch) | × index | limit append | × append |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in results {
            let limit = limitFigures(r.scenario)
            let index = limit.map { "\(Self.rate($0.index)) (\(r.scenario.limitBatch))" } ?? "–"
            let append = limit.map { Self.rate($0.append) } ?? "–"
            let range = spread[r.scenario.name].map { "\(Self.rate($0.low))–\(Self.rate($0.high))" } ?? "–"
            lines.append(
                "| \(r.scenario.name) | \(r.calls) | \(Self.rate(r.valuesPerSecond)) | \(range) | \(Self.ms(r.percentileMilliseconds(50))) | "
                    + "\(Self.ms(r.percentileMilliseconds(99))) | \(Self.ms(r.percentileMilliseconds(99.9))) | "
                    + "\(Self.fixed(r.serverCPU / Double(max(1, r.values)) * 1e6, 1)) | \(Self.fixed(r.driverCPU / Double(max(1, r.values)) * 1e6, 1)) | "
                    + "\(index) | \(ratio(r, limit?.index)) | \(append) | \(ratio(r, limit?.append)) |"
            )
        }
        lines.append("")
        lines.append("Targets (against the index layout):")
        for (name, check) in targets {
            lines.append("- \(name): \(check)")
        }
        return lines.joined(separator: "\n")
    }

    private var targets: [(String, String)] {
        var out: [(String, String)] = []
        for (method, clients, perCall) in [
            ("tokenize", 64, 1), ("tokenize", 1, 256), ("detokenize", 64, 1), ("detokenize", 1, 256),
        ] {
            let name = "\(method) \(clients) × \(perCall) ≥ 50% of the limit"
            guard let r = results.first(where: { $0.scenario.name == "\(method) \(clients) × \(perCall)" }),
                let limit = limitFigures(r.scenario)?.index, limit > 0
            else {
                out.append((name, "not measured"))
                continue
            }
            let share = r.valuesPerSecond / limit
            out.append(
                (
                    name,
                    share >= 0.5
                        ? "met (\(Self.percent(share)))"
                        : "MISSED (\(Self.percent(share)), short by \(Self.percent(0.5 - share)) points)"
                )
            )
        }
        if let r = results.first(where: { $0.scenario.name == "tokenize 64 × 1" }) {
            let p99 = r.percentileMilliseconds(99)
            out.append(
                ("tokenize 64 × 1 p99 < 5 ms", p99 < 5 ? "met (\(Self.ms(p99)) ms)" : "MISSED (\(Self.ms(p99)) ms)")
            )
        }
        return out
    }

    /// The limit this scenario compares with: the limit's run at the scenario's batch size, for either method
    /// (the limit's detokenize commits its audit records in batches too, as cvault's group commit does).
    private func limitFigures(_ scenario: BenchScenario) -> (index: Double, append: Double)? {
        guard let f = limits[scenario.limitBatch] else { return nil }
        switch scenario.method {
        case .tokenize: return (f.indexTokenize, f.appendTokenize)
        case .detokenize: return (f.indexDetokenize, f.appendDetokenize)
        }
    }

    private func ratio(_ r: BenchResult, _ limit: Double?) -> String {
        guard let limit, limit > 0 else { return "–" }
        return Self.percent(r.valuesPerSecond / limit)
    }

    static func rate(_ v: Double) -> String {
        let n = Int(v.rounded())
        var s = String(n)
        var i = s.count - 3
        while i > 0 {
            s.insert(",", at: s.index(s.startIndex, offsetBy: i))
            i -= 3
        }
        return s
    }
    static func ms(_ v: Double) -> String { fixed(v, v < 10 ? 2 : 1) }
    static func percent(_ v: Double) -> String { fixed(v * 100, 0) + "%" }
    static func fixed(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }
}
