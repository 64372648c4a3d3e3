import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The fuzzed entry points, one per input format that reaches cvault from outside. libFuzzer (the
/// `cvault-fuzz` executable, `Tools/fuzz`) and the corpus replay test (`FuzzCorpusReplayTests`) both call
/// `run`, so a committed input is replayed through exactly the code the fuzzer ran it through.
///
/// Every harness feeds the input to cvault's own functions and ignores their answers and thrown errors:
/// what it finds is a trap (a failed precondition, `!` on nil, overflow, an out-of-range index), an
/// address-sanitizer report, or a hang.
package enum FuzzTarget: String, CaseIterable, Sendable, CustomStringConvertible {
    /// A request stream: each line through the server's `RPCDispatcher`, as a known or unknown uid.
    case jsonRPC = "json-rpc"
    /// A policy file through the policy parser and checker.
    case policy
    /// A value through every kind's normalizer and validator, and the masks.
    case kinds
    /// A token string through every token decoder and detokenize's address computation.
    case tokens
    /// A keyring file through the keyring file parser and the share unseal step.
    case keyring
    /// Lines of share text through the share parser and Shamir combination.
    case shares
    /// A signed statement file (an access report, an erasure receipt) through `Statement.verify`.
    case statement

    package var description: String { rawValue }

    /// Runs one input. `jsonRPC` waits for the dispatcher's answers; the others are synchronous.
    package func run(_ bytes: [UInt8]) async {
        switch self {
        case .jsonRPC: await JSONRPCHarness.run(bytes)
        case .policy: PolicyHarness.run(bytes)
        case .kinds: KindsHarness.run(bytes)
        case .tokens: TokensHarness.run(bytes)
        case .keyring: KeyringHarness.run(bytes)
        case .shares: SharesHarness.run(bytes)
        case .statement: StatementHarness.run(bytes)
        }
    }

    /// `run` from synchronous code that is not on a Swift concurrency thread (libFuzzer's callback).
    package func runBlocking(_ bytes: [UInt8]) {
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await self.run(bytes)
            done.signal()
        }
        done.wait()
    }

    /// Runs each file in turn, first writing `fuzz-replay: <path>` to standard error, so that when an input
    /// traps the process's last such line names it.
    package func replay(paths: [String]) async {
        for path in paths {
            FileHandle.standardError.write(Data("fuzz-replay: \(path)\n".utf8))
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("fuzz-replay: cannot read \(path)\n".utf8))
                exit(2)
            }
            await run([UInt8](data))
        }
    }

    /// The marker `replay` writes before each input.
    package static let replayMarker = "fuzz-replay: "
}
