/// A rate bucket as a store keeps it (`StoreWriter.bucket`): an identity's `reveals_per_minute` or
/// `misses_per_minute` when several processes share the store, so every server takes from the same one.
/// Public figures only: a count and a time.
public struct StoredBucket: Sendable, Equatable {
    /// What the bucket holds, in `TokenBucket` units (1/60,000,000,000 of an item); below zero for a debt.
    public var level: Int64
    /// When it was last refilled, in Unix milliseconds: wall-clock time, which every host agrees on.
    public var updatedAt: Int64

    public init(level: Int64, updatedAt: Int64) {
        self.level = level
        self.updatedAt = updatedAt
    }
}
