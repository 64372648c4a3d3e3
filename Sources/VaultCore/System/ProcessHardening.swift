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

    // MARK: The Swift runtime's backtracer

    /// The variable the Swift runtime reads, once, when the process starts, to configure its crash
    /// backtracer, and the setting that turns it off.
    public static let backtraceVariable = "SWIFT_BACKTRACE"
    public static let backtraceOff = "enable=no"

    /// Turns the Swift runtime's crash backtracer off for this process, before any key is touched: on Linux
    /// it is on by default, and on a crash it runs `swift-backtrace`, which reads the crashed process's memory
    /// and writes registers and memory around them to standard error (so to the server's log). Core dumps
    /// are off for the same reason (`disableCoreDumps`).
    ///
    /// The runtime reads `SWIFT_BACKTRACE` in its start-up initializer and offers no call to change it later,
    /// so when the variable is not set this sets it to `enable=no` and re-executes the same binary
    /// (`/proc/self/exe`) with the same arguments; it returns only when the variable is already set (after
    /// the re-exec, or because the operator set it), or with an error if the re-exec failed. An operator who
    /// sets `SWIFT_BACKTRACE` themselves (to debug a crash) keeps their setting; `backtracerWarning` names it.
    public static func disableBacktracerByReexec() -> String? {
        guard getenv(backtraceVariable) == nil else { return nil }
        guard setenv(backtraceVariable, backtraceOff, 1) == 0 else {
            return "cannot set \(backtraceVariable): \(String(cString: strerror(errno)))"
        }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached if the exec failed; the process is still the original one, backtracer on.
        return "cannot re-execute /proc/self/exe to turn the crash backtracer off: \(String(cString: strerror(errno)))"
    }

    /// A warning when this process runs with the backtracer on (`SWIFT_BACKTRACE` set, by the operator, to
    /// anything but `enable=no`), else nil.
    public static var backtracerWarning: String? {
        guard let raw = getenv(backtraceVariable) else {
            return "the Swift crash backtracer is on (\(backtraceVariable) is not set)"
        }
        let setting = String(cString: raw)
        guard !setting.split(separator: ",").contains("enable=no") else { return nil }
        return
            "the Swift crash backtracer is on (\(backtraceVariable)=\(setting)): a crash would write registers and memory to the log"
    }

    // MARK: Locking key memory

    /// What a warning about this process says, and how to fix it.
    public struct Warning: Sendable, Equatable {
        public let message: String
        public let hint: String

        public init(message: String, hint: String) {
            self.message = message
            self.hint = hint
        }
    }

    /// Bytes of key memory cvault may lock at once: every `SecureBytes` buffer is a `sodium_malloc` allocation
    /// that locks at least one page of its own, and up to `SecureBytes.poolLimit` buffers of data keys are
    /// kept for reuse, plus a margin for the keyring and requests in flight.
    static var keyMemoryBytes: Int { (SecureBytes.poolLimit + 512) * pageSize }

    static var pageSize: Int { max(4096, sysconf(Int32(_SC_PAGESIZE))) }

    /// Nil if this process can lock the key memory it may need, else why not. `sodium_malloc` calls `mlock`
    /// for each buffer but ignores a failure (the buffer is still usable, only swappable), so the only way to
    /// know is to try: one page, then (when `RLIMIT_MEMLOCK` is below `keyMemoryBytes`) the whole amount,
    /// which succeeds anyway for a process with CAP_IPC_LOCK. Nothing stays locked or mapped afterwards.
    public static func memoryLockWarning() -> Warning? {
        var limit = rlimit()
        // `__RLIMIT_MEMLOCK`: glibc spells RLIMIT_MEMLOCK as a macro over it, which Swift does not import.
        _ = getrlimit(Int32(__RLIMIT_MEMLOCK.rawValue), &limit)
        let limited = limit.rlim_cur != rlim_t.max  // RLIM_INFINITY
        let current = limited ? "\(limit.rlim_cur / 1024) KiB" : "unlimited"
        let needed = keyMemoryBytes
        let probe = limited && limit.rlim_cur < UInt(needed) ? needed : pageSize
        guard let region = mmap(nil, probe, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            region != MAP_FAILED
        else { return nil }
        defer { munmap(region, probe) }
        guard mlock(region, probe) != 0 else {
            munlock(region, probe)
            return nil
        }
        let reason = String(cString: strerror(errno))
        return Warning(
            message: "key memory cannot be locked (mlock: \(reason)); RLIMIT_MEMLOCK is \(current) and cvault may lock "
                + "about \(needed / (1024 * 1024)) MiB, so keys could be written to swap",
            hint: "raise the limit to 64 MiB or more: LimitMEMLOCK=64M in the systemd unit, or `ulimit -l 65536` "
                + "in the shell that starts cvault"
        )
    }
}
