import CSodium
import Synchronization

/// Key bytes in guarded memory: allocated with `sodium_malloc` (guard pages on both sides, a canary,
/// `mlock` so they never reach swap), and wiped by `sodium_free` when released.
///
/// Like swift-crypto's `SecureBytes`, the bytes are reachable only through `withUnsafeBytes`; the
/// `description` never shows them, and equality is constant-time. Buffers of the common 32-byte key size
/// are recycled through a small pool (wiped on return), because `sodium_malloc` costs several system calls
/// and a data key is unwrapped for every request.
public final class SecureBytes: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    // @unchecked Sendable: the buffer is written only during initialisation, before the instance is
    // shared; afterwards it is read-only.
    private let pointer: UnsafeMutableRawPointer
    public let count: Int

    /// Allocates `count` zeroed guarded bytes. Fails only if the process is out of memory.
    init(zeroedCount count: Int) {
        Sodium.ensureReady()
        precondition(count > 0, "SecureBytes needs at least one byte")
        if count == SecureBytes.pooledSize, let reused = SecureBytes.pool.withLock({ $0.popLast() }) {
            pointer = UnsafeMutableRawPointer(bitPattern: reused)!
        } else {
            guard let p = sodium_malloc(count) else {
                fatalError("sodium_malloc(\(count)) failed: out of memory for key material")
            }
            pointer = p
        }
        sodium_memzero(pointer, count)
        self.count = count
    }

    /// `count` bytes from the system's CSPRNG (`randombytes_buf`).
    public convenience init(randomCount count: Int) {
        self.init(zeroedCount: count)
        randombytes_buf(pointer, count)
    }

    /// Copies `bytes` into guarded memory. The caller remains responsible for wiping its own copy.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(zeroedCount: bytes.count)
        if let base = bytes.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) }
    }

    /// Copies `bytes` into guarded memory and wipes the source array.
    public convenience init(consuming bytes: inout [UInt8]) {
        self.init(zeroedCount: bytes.count)
        bytes.withUnsafeMutableBytes { source in
            pointer.copyMemory(from: source.baseAddress!, byteCount: source.count)
            sodium_memzero(source.baseAddress!, source.count)
        }
    }

    /// Fills fresh guarded memory through `body`, for C calls that write key bytes directly.
    static func filled(count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows -> SecureBytes {
        let bytes = SecureBytes(zeroedCount: count)
        try body(UnsafeMutableRawBufferPointer(start: bytes.pointer, count: count))
        return bytes
    }

    deinit {
        if count == SecureBytes.pooledSize {
            sodium_memzero(pointer, count)
            let kept = SecureBytes.pool.withLock { pool -> Bool in
                guard pool.count < SecureBytes.poolLimit else { return false }
                pool.append(UInt(bitPattern: pointer))
                return true
            }
            if kept { return }
        }
        sodium_free(pointer)  // wipes, checks the canary and unmaps the guard pages
    }

    /// The only access to the bytes. Do not let the pointer escape `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Constant-time comparison (`sodium_memcmp`); lengths are public.
    public func constantTimeEquals(_ other: SecureBytes) -> Bool {
        count == other.count && sodium_memcmp(pointer, other.pointer, count) == 0
    }

    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }

    // Recycled 32-byte buffers. Raw pointers are not Sendable, so they are stored as bit patterns.
    private static let pooledSize = 32
    static let poolLimit = 4096  // internal: ProcessHardening sizes the memory lock check by it
    private static let pool = Mutex<[UInt]>([])
}
