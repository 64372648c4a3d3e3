import Foundation
import Testing
import VaultFuzz

/// Every committed fuzz input (Tests/Fixtures/fuzz/<target>/: the seed corpus, and every input that ever
/// crashed or hung a campaign) replayed through the same entry function the fuzzer calls
/// (`FuzzTarget.run`), so a fixed crash that comes back fails the normal test run.
///
/// Each input runs in a child process of its own (an exit test), since the failure to catch is a trap, which
/// would end this test process; the test case and its failure message name the input.
@Suite struct FuzzCorpusReplayTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz")

    /// The committed inputs of `target`, as paths relative to Tests/Fixtures/fuzz ("json-rpc/seed-whoami").
    static func inputs(of target: FuzzTarget) -> [String] {
        let folder = fixtures.appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(target.rawValue)/\($0)" }
    }

    static let allInputs = FuzzTarget.allCases.flatMap(inputs(of:))

    @Test("every fuzz target has committed inputs", arguments: FuzzTarget.allCases)
    func everyTargetHasInputs(_ target: FuzzTarget) {
        #expect(!Self.inputs(of: target).isEmpty, "no inputs in Tests/Fixtures/fuzz/\(target)")
    }

    @Test("a committed fuzz input runs through its harness without a trap", arguments: allInputs)
    func committedInputRunsWithoutTrapping(_ input: String) async {
        let target = String(input.prefix { $0 != "/" })
        let path = Self.fixtures.appendingPathComponent(input).path
        #expect(FuzzTarget(rawValue: target) != nil, "Tests/Fixtures/fuzz/\(target) is not a fuzz target")
        await #expect(processExitsWith: .success, "fuzz input Tests/Fixtures/fuzz/\(input) ended its process") {
            [target = target as String, path = path as String] in
            await FuzzTarget(rawValue: target)!.replay(paths: [path])
        }
    }
}
