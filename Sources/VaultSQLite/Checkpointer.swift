import CVaultSystem
import Foundation
import Synchronization
import VaultStoreRuntime

/// Copies the WAL into the database file on a thread of its own, so that commits do not pay for it.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that commit, and every
/// caller in its group, waits while thousands of pages are copied and the database file is fsynced. That was
/// the tail of single-value tokenize latency (p99 ~15 ms against a p50 of ~3 ms at 64 clients). Here:
/// 1. Each of the writer's commits only reports the WAL's length (`walGrew`, from SQLite's WAL hook).
/// 2. Past `Settings.threshold` new frames, this thread runs PASSIVE checkpoints, which take no lock a writer or
///    reader waits for. While one runs, the writer keeps appending, so it runs again until what is left is
///    under `Settings.remainder` frames.
/// 3. The writer's next commit then copies that small rest itself, inside the commit as SQLite's automatic
///    checkpoint would (about a millisecond). Only a checkpoint that leaves nothing behind lets the next
///    write start the WAL over from its beginning; a background one alone never would under steady load,
///    and the WAL would grow without bound.
/// A WAL over `Settings.hardLimit` frames (readers that never let go, or writes faster than the copy) gets a RESTART
/// checkpoint inside the writer's commit, which waits for readers and holds the writer back meanwhile, instead of
/// growing on.
final class Checkpointer: Sendable, WALObserver {
    /// When to checkpoint, in WAL frames (one page each, 4 KiB by default).
    struct Settings: Sendable {
        /// New frames before a background checkpoint starts.
        var threshold: Int
        /// Frames left for the writer to copy inside a commit.
        var remainder: Int
        /// A WAL this long gets a RESTART checkpoint.
        var hardLimit: Int

        /// ~120 MB before a checkpoint. Larger means fewer copies of a page that many commits rewrite
        /// (random-key inserts rewrite the same leaves over and over) and fewer database fsyncs competing
        /// with the commits' WAL fsyncs. Measured at 64 clients × 1-value tokenize: p99 6–8 ms at 30,000
        /// against 10–11 ms at 4,000 and 10,000. The rest copied inside a commit, ≤ 300 frames (~1 MB), takes
        /// about a millisecond. The hard limit is ~400 MB.
        static let standard = Settings(threshold: 30_000, remainder: 300, hardLimit: 100_000)
    }

    let settings: Settings

    /// nil: a background request from `walGrew`; a closure: a caller of `catchUpNow`, called after the round.
    private let requests = JobQueue<(@Sendable () -> Void)?>()
    private let requested = Atomic<Bool>(false)
    /// Set when the background has copied all but a few frames: the writer's next commit copies the rest.
    private let finishOnWriter = Atomic<Bool>(false)
    /// Frames of the current WAL known to be in the database file already.
    private let copiedUpTo = Atomic<Int>(0)
    private let runs = Atomic<Int>(0)
    /// The WAL's length when the writer last tried a RESTART checkpoint (0: never).
    private let lastForced = Atomic<Int>(0)
    private let finished = Latch()

    /// Starts the thread, which from here on is the only user of `connection`.
    init(connection: SQLiteConnection, settings: Settings = .standard) {
        self.settings = settings
        startStoreThread(named: "cvault-ckpt") { [self] in
            // Background work: on two cores, the commit path should get the CPU first.
            _ = cvault_set_thread_nice(10)
            while let jobs = requests.take(limit: Int.max) {
                requested.store(false, ordering: .relaxed)
                catchUp(connection)
                for case let done? in jobs { done() }
            }
            connection.close()
            finished.open()
        }
    }

    // MARK: Called by the writer's connection after each commit

    func walGrew(to frames: Int) -> SQLiteConnection.CheckpointMode? {
        var copied = copiedUpTo.load(ordering: .relaxed)
        if frames < copied {
            // The WAL was started over: everything counted before is gone.
            copiedUpTo.store(0, ordering: .relaxed)
            copied = 0
        }
        // From the writer's own connection no other writer can win the lock, so a RESTART there only waits for
        // readers; from this thread it would race the writer's next group and mostly fail.
        // It may wait for a long reader (a backup) for the busy timeout, so it is tried again only after another
        // `threshold` frames, not at every commit.
        if frames >= settings.hardLimit {
            let last = lastForced.load(ordering: .relaxed)
            if last == 0 || frames < last || frames - last >= settings.threshold {
                lastForced.store(frames, ordering: .relaxed)
                return .restart
            }
        }
        if finishOnWriter.exchange(false, ordering: .relaxed) { return .passive }
        if frames - copied >= settings.threshold,
            requested.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged,
            !requests.enqueue(nil)
        {
            requested.store(false, ordering: .relaxed)  // closing
        }
        return nil
    }

    func checkpointed(walFrames: Int, copied: Int) {
        copiedUpTo.store(copied, ordering: .relaxed)
        runs.add(1, ordering: .relaxed)
    }

    // MARK: This thread

    private func catchUp(_ connection: SQLiteConnection) {
        // Each round copies what the writer appended during the one before, so a few rounds suffice; the bound
        // only stops a pathological case (a reader pinning old frames) from spinning.
        for _ in 0..<8 {
            // A failure (an I/O error) leaves the frames in the WAL, as durable there as in the database file;
            // the next request tries again, and commits report disk errors to their own callers.
            guard let result = try? connection.checkpoint(.passive) else { return }
            checkpointed(walFrames: result.walFrames, copied: result.copied)
            if result.walFrames - result.copied <= settings.remainder {
                finishOnWriter.store(true, ordering: .relaxed)
                return
            }
        }
    }

    /// Runs a round of PASSIVE checkpoints now, on this thread, and returns once it is done (at once if the
    /// thread is closing). A scrub calls it first, so the TRUNCATE checkpoint it then runs on the writer, which
    /// holds every write back while it copies, has only the last few frames left to copy.
    func catchUpNow() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !requests.enqueue({ continuation.resume() }) { continuation.resume() }
        }
    }

    /// Checkpoints run so far, here and on the writer (tests wait on it).
    var runCount: Int { runs.load(ordering: .relaxed) }

    /// Stops the thread after any checkpoint under way. SQLite checkpoints whatever is left when the last
    /// connection closes.
    func close() { requests.close() }

    func waitUntilFinished() async { await finished.wait() }
}
