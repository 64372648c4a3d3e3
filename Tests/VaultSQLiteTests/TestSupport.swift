import Foundation
import Synchronization
import Testing
import VaultCore

@testable import VaultSQLite

/// A fresh folder for one test, removed afterwards, and the database path inside it.
@discardableResult
func withTemporaryFolder<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array((NSTemporaryDirectory() + "cvault-store-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw VaultError(.internal, "mkdtemp failed") }
    let folder = String(cString: made)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    return try await body(folder)
}

/// Runs `body` on a newly created store, closing it afterwards.
@discardableResult
func withStore<T>(_ body: (SQLiteStore, String) async throws -> T) async throws -> T {
    try await withTemporaryFolder { folder in
        let path = folder + "/vault.db"
        let store = try SQLiteStore.create(at: path)
        do {
            let result = try await body(store, path)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}

func fileMode(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

func fileContains(_ path: String, _ needle: [UInt8]) -> Bool {
    guard let data = FileManager.default.contents(atPath: path) else { return false }
    return data.range(of: Data(needle)) != nil
}

/// Token ids for `makeToken`, unique in the test process (the store takes any unused id).
private let testTokenIDs = Atomic<Int64>(0)

/// A token row with plausible sizes: a 16-byte lookup and a sealed 24-byte value. Found by lookup unless
/// `addressing` says otherwise.
func makeToken(
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
func addSubject(_ store: SQLiteStore, _ name: String, kek: Int = 1) async throws -> SubjectRecord {
    let wrapped = randomBytes(72)
    let id = try await store.write {
        try $0.insertSubject(name: name, kekVersion: kek, dekVersion: 1, wrappedKey: wrapped)
    }
    return SubjectRecord(id: id, name: name, kekVersion: kek, dekVersion: 1, wrappedKey: wrapped)
}

/// Holds the writer thread inside a write until `release()`, so the writes queued meanwhile are taken
/// together as the next group: grouping becomes deterministic without any sleep-based timing.
struct WriterGate: Sendable {
    private let gate: DispatchSemaphore
    private let task: Task<Void, any Error>

    init(_ store: SQLiteStore) async {
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        self.gate = gate
        task = Task {
            try await store.write { _ in
                entered.signal()
                gate.wait()
            }
        }
        // Wait (off the cooperative pool's critical path: the writer thread signals) until the writer is held.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                entered.wait()
                continuation.resume()
            }.start()
        }
    }

    /// Waits until `count` writes are queued behind the gate, then lets the writer go on.
    func release(after count: Int, of store: SQLiteStore) async throws {
        while store.queuedWrites < count { try await Task.sleep(for: .milliseconds(2)) }
        gate.signal()
        try await task.value
    }
}
