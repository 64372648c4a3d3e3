import Dispatch
import Foundation

/// CPU-only work over many items, spread over the machine's cores.
///
/// For the per-token crypto of large detokenize calls (keyed hashes, unwrapping data keys, opening values):
/// a single client's call of 256 tokens otherwise keeps one core busy while the other idles. Small inputs run
/// in place, since waking a second thread costs tens of microseconds on these machines.
enum Parallel {
    /// Items below which `map` runs on the calling thread alone.
    static let minimumItems = 64

    static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// `items.map(transform)`, in order, in contiguous chunks on up to `cores` threads (the caller's among them).
    /// `transform` must not touch the store or anything else bound to one thread.
    static func map<T: Sendable, R: Sendable>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
        let chunks = min(cores, items.count / (minimumItems / 2))
        guard chunks > 1 else { return items.map(transform) }
        return [R](unsafeUninitializedCapacity: items.count) { out, initialized in
            let output = Output(base: out.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = items.count * chunk / chunks
                let end = items.count * (chunk + 1) / chunks
                for i in start..<end { (output.base + i).initialize(to: transform(items[i])) }
            }
            initialized = items.count
        }
    }

    /// The result buffer the chunks fill. @unchecked Sendable: each chunk initializes only its own indices, and
    /// `concurrentPerform` returns only once every chunk has finished.
    private struct Output<R>: @unchecked Sendable {
        let base: UnsafeMutablePointer<R>
    }
}
