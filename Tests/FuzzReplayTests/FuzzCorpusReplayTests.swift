import Foundation
import Testing
@testable import VaultFuzz

/// Every committed fuzz input (Tests/Fixtures/fuzz/<target>/: the seed corpus, and every input that ever
/// crashed or hung a campaign) replayed through the same entry function the fuzzer calls
/// (`FuzzTarget.run`), so a fixed crash that comes back fails the normal test run.
///
/// The inputs run in a child process (an exit test), since the failure to catch is a trap, which would end
/// this test process. The child names each input before running it, so a trap names the input that caused
/// it; the replay then goes on after that input, so one run reports every failing input.
@Suite struct FuzzCorpusReplayTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz")

    static func inputs(of target: FuzzTarget) -> [String] {
        let folder = fixtures.appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.subpathsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0).path }
            .filter { var dir: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &dir) && !dir.boolValue }
    }

    @Test("every committed input of each target runs without a trap", arguments: FuzzTarget.allCases)
    func committedInputsRunWithoutTrapping(_ target: FuzzTarget) async throws {
        let inputs = Self.inputs(of: target)
        try #require(!inputs.isEmpty, "no committed inputs for \(target) in Tests/Fixtures/fuzz/\(target)")
        var remaining = inputs[...]
        while !remaining.isEmpty {
            let name = target.rawValue, paths = Array(remaining)
            let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) { [name, paths] in
                await FuzzTarget(rawValue: name)!.replay(paths: paths)
            }
            guard let result, result.exitStatus != .exitCode(0) else { return }
            // The last input the child named is the one it was running when it stopped.
            let log = String(decoding: result.standardErrorContent, as: UTF8.self)
            let named = log.split(separator: "\n").last { $0.hasPrefix(FuzzTarget.replayMarker) }
            guard let failing = named.map({ String($0.dropFirst(FuzzTarget.replayMarker.count)) }),
                  let position = remaining.firstIndex(of: failing) else {
                Issue.record("the \(target) replay stopped (\(result.exitStatus)) before naming an input")
                return
            }
            Issue.record("fuzz input \(failing) (target \(target)) ended the process: \(result.exitStatus)")
            remaining = remaining[(position + 1)...]
        }
    }
}
