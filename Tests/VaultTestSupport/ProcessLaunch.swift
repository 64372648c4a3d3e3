import Foundation
import Synchronization

/// Starts `process` (`Process.run()`), one at a time across the whole test run. Every test that starts a
/// program (the `cvault` binary, `sqlite3`, Python) goes through here: Foundation's `Process.run()` on Linux
/// changes the *process-wide* current directory to the child's for the duration of the spawn, so two runs
/// at once, from tests running in parallel, could start a child in the other's folder.
///
/// It does not avoid a second fault of `Process.run()` in this toolchain (swift-corelibs-foundation, fixed
/// upstream in pull request 5472): it lists `/proc/self/fd` copying each entry's whole 256-byte `d_name`,
/// which reads past glibc's 32 KiB directory buffer, and can fault on the page after it, once the listing
/// fills that buffer: at about 1,300 open descriptors. The test process stays far below that (the SQLite
/// store conformance checks, a dozen descriptors each, run one at a time for this reason).
public func launch(_ process: Process) throws {
    try launchLock.withLock { _ in try process.run() }
}

private let launchLock = Mutex<Void>(())
