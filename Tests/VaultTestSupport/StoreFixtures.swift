import Foundation
import Synchronization
import VaultCore

/// `count` random bytes (ciphertexts, lookups and keys of plausible sizes; never a real secret).
public func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}

/// Token ids for `makeToken`, unique in the test process (a store takes any unused id).
private let testTokenIDs = Atomic<Int64>(0)

/// A token row with plausible sizes: a 16-byte lookup and a sealed 64-byte value. Found by lookup unless
/// `addressing` says otherwise.
public func makeToken(
    subjectID: Int64,
    id: Int64? = nil,
    addressing: TokenAddressing = .lookup,
    lookup: [UInt8] = randomBytes(16),
    sealed: [UInt8] = randomBytes(64),
    kind: Kind = .email,
    mode: TokenMode = .opaque,
    limits: TokenLimits = .none
) -> TokenRecord {
    TokenRecord(
        id: id ?? testTokenIDs.add(1, ordering: .relaxed).newValue,
        addressing: addressing,
        lookup: lookup,
        subjectID: subjectID,
        kind: kind,
        mode: mode,
        sealed: sealed,
        limits: limits,
        createdAt: 1_700_000_000
    )
}

/// Inserts a subject with a random wrapped key and returns it as stored.
public func addSubject(_ store: some VaultStore, _ name: String, kek: Int = 1) async throws -> SubjectRecord {
    let wrapped = randomBytes(72)
    let id = try await store.write {
        try $0.insertSubject(name: name, kekVersion: kek, dekVersion: 1, wrappedKey: wrapped)
    }
    return SubjectRecord(id: id, name: name, kekVersion: kek, dekVersion: 1, wrappedKey: wrapped)
}

/// Waits, without blocking a thread of Swift's cooperative pool, until `semaphore` is signalled (by a store
/// closure running on the store's own thread).
public func signalled(_ semaphore: DispatchSemaphore) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        Thread {
            semaphore.wait()
            continuation.resume()
        }.start()
    }
}

/// Whether `semaphore` is signalled within `bound`, waited for off Swift's cooperative pool. Only for what a
/// correct store never does (the bound then just passes): a store that does it is caught within the bound.
public func signalled(_ semaphore: DispatchSemaphore, within bound: DispatchTimeInterval) async -> Bool {
    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
        Thread { continuation.resume(returning: semaphore.wait(timeout: .now() + bound) == .success) }.start()
    }
}

/// An error a test's closure throws on purpose, to see what a store keeps of it.
public struct ThrownOnPurpose: Error, Equatable {
    public let tag: Int
    public init(_ tag: Int = 0) { self.tag = tag }
}

/// Runs `body` with `store`, then closes the store, whether `body` returned or threw.
public func closing<S: VaultStore, T>(_ store: S, _ body: (S) async throws -> T) async throws -> T {
    do {
        let result = try await body(store)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}
