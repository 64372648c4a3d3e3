import CVaultSystem
#if canImport(Glibc)
import Glibc
#endif

/// Settings for any process that holds key material.
public enum ProcessHardening {
    /// Disables core dumps (RLIMIT_CORE 0) and marks the process non-dumpable (PR_SET_DUMPABLE 0), so a crash
    /// or a debugger attached by the same uid cannot copy keys out of memory. Idempotent.
    public static func disableCoreDumps() {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        _ = cvault_set_nondumpable()
    }

    /// Whether core dumps are off for this process (for tests and `cvault status`).
    public static var coreDumpsDisabled: Bool {
        var limit = rlimit()
        _ = getrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        return limit.rlim_cur == 0 && cvault_get_dumpable() == 0
    }
}
