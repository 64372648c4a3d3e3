import Foundation
import VaultCore

/// The raw speed limit (`Tools/bench/limit.c`): cvault's crypto and durable storage, audit record included, in
/// one C process with no server, parsing or policy. Compiled and run in the benchmark's own temp folder, in the
/// same run, so cvault's figures are ratios against this machine as it is right now.
struct SpeedLimit {
    /// Where the source sits in the repository.
    static let sourceInRepository = "Tools/bench/limit.c"

    /// The limit's runs, one per way cvault's scenarios gather values into a durable commit: 1 value per
    /// commit (1 client × 1 value), 64 single-value calls per commit (64 clients × 1 value: the most one group
    /// commit can gather) and one call of 256 values per commit (× 256). `BenchScenario.limitBatch` picks one.
    static let runs: [(batch: Int, perCall: Int)] = [(1, 1), (64, 1), (256, 256)]

    /// The repository's own limit, found from the running executable (built inside the repository, under
    /// `.build`) or else from the current folder, by walking up to the folder that holds both `Package.swift`
    /// and `Tools/bench/limit.c`. Nil when neither is inside a checkout.
    static func sourceInCheckout(executable: String, currentFolder: String) -> String? {
        for start in [
            URL(fileURLWithPath: executable).deletingLastPathComponent(), URL(fileURLWithPath: currentFolder),
        ] {
            var folder = start.standardizedFileURL
            while true {
                let source = folder.appendingPathComponent(sourceInRepository).path
                if FileManager.default.fileExists(atPath: source),
                    FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path)
                {
                    return source
                }
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        return nil
    }

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
                hint: "run from a cvault checkout, pass --limit-source PATH, or --no-limit"
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

    /// Runs `limit VALUES BATCH FOLDER both PER_CALL` and reads its four figures.
    func run(values: Int, batch: Int, perCall: Int, folder: String) throws -> Figures {
        let log = folder + "/limit-\(batch).log"
        let status = try BenchServer.run(
            binary,
            [String(values), String(batch), folder, "both", String(perCall)],
            log: log,
            wait: true
        ).terminationStatus
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
