import Foundation
import VaultCore

/// The raw speed limit (shared/bench/limit.c): cvault's crypto and durable storage in one C process with no
/// server, parsing, policy or audit. Compiled and run in the benchmark's own temp folder, in the same run,
/// so cvault's figures are ratios against this machine as it is right now.
struct SpeedLimit {
    /// Values per second for one batch size (values per transaction).
    struct Figures {
        var indexTokenize = 0.0
        var appendTokenize = 0.0
        var indexDetokenize = 0.0
        var appendDetokenize = 0.0
    }

    let binary: String

    /// `cc -O2 -o <folder>/limit <source> -lsodium -lsqlite3`.
    static func compile(source: String, into folder: String) throws -> SpeedLimit {
        guard FileManager.default.fileExists(atPath: source) else {
            throw VaultError(
                .invalidRequest,
                "no speed-limit source at \(source)",
                hint: "run from the repository root, pass --limit-source PATH, or --no-limit"
            )
        }
        let binary = folder + "/limit"
        let log = folder + "/cc.log"
        let status = try BenchServer.run(
            "/usr/bin/env",
            ["cc", "-O2", "-o", binary, source, "-lsodium", "-lsqlite3"],
            log: log,
            wait: true
        ).terminationStatus
        guard status == 0 else {
            throw VaultError(
                .internal,
                "compiling \(source) failed (exit \(status))",
                hint: "see \(log); needs cc, libsodium-dev, libsqlite3-dev"
            )
        }
        return SpeedLimit(binary: binary)
    }

    /// Runs `limit VALUES BATCH FOLDER both` and reads its four figures.
    func run(values: Int, batch: Int, folder: String) throws -> Figures {
        let log = folder + "/limit-\(batch).log"
        let status = try BenchServer.run(binary, [String(values), String(batch), folder, "both"], log: log, wait: true)
            .terminationStatus
        guard status == 0, let text = try? String(contentsOfFile: log, encoding: .utf8) else {
            throw VaultError(.internal, "the speed limit failed (exit \(status))", hint: "see \(log)")
        }
        var figures = Figures()
        for line in text.split(separator: "\n") {
            // "limit index tokenize values_per_s 41234  (values=… batch=…)"
            let words = line.split(separator: " ")
            guard words.count >= 5, words[0] == "limit", words[3] == "values_per_s", let rate = Double(words[4]) else {
                continue
            }
            switch (words[1], words[2]) {
            case ("index", "tokenize"): figures.indexTokenize = rate
            case ("append", "tokenize"): figures.appendTokenize = rate
            case ("index", "detokenize"): figures.indexDetokenize = rate
            case ("append", "detokenize"): figures.appendDetokenize = rate
            default: break
            }
        }
        return figures
    }
}
