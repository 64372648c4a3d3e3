import Testing
import VaultCore

/// `bucket` and `putBucket`: the rate buckets a store keeps when several processes share it
/// (`VaultStore.sharedByProcesses`). The vault reads a bucket and puts it back inside one write, so a
/// store must keep them exactly, transactionally, and without a lost update however many writes race.
extension StoreConformance {
    static let buckets: [Check] = [
        Check("bucket is nil until put, and a put is read back exactly under its own key only") { store in
            let reveals = "reveals_per_minute:svc"
            let misses = "misses_per_minute:svc"
            #expect(try await store.write { try $0.bucket(reveals) } == nil)
            let first = StoredBucket(level: 600_000_000_000, updatedAt: 1_800_000_000_123)
            // The extremes of both columns, and a debt (a miss budget's level may be below zero).
            let debt = StoredBucket(level: -60_000_000_000_000_000, updatedAt: .min)
            let seen = try await store.write { writer in
                try writer.putBucket(reveals, first)
                try writer.putBucket(misses, debt)
                // The write sees its own puts.
                return (try writer.bucket(reveals), try writer.bucket(misses), try writer.bucket("other:svc"))
            }
            #expect(seen.0 == first && seen.1 == debt && seen.2 == nil)
            let replaced = StoredBucket(level: .max, updatedAt: .max)
            try await store.write { try $0.putBucket(reveals, replaced) }
            let later = try await store.write { writer in (try writer.bucket(reveals), try writer.bucket(misses)) }
            #expect(later.0 == replaced, "a put replaces the bucket")
            #expect(later.1 == debt, "another key's bucket is left alone")
        },

        Check("a bucket put in a write that throws is not kept") { store in
            let key = "reveals_per_minute:svc"
            let kept = StoredBucket(level: 5, updatedAt: 1_000)
            try await store.write { try $0.putBucket(key, kept) }
            await #expect(throws: ThrownOnPurpose.self) {
                try await store.write { writer in
                    try writer.putBucket(key, StoredBucket(level: 4, updatedAt: 2_000))
                    try writer.putBucket("misses_per_minute:svc", StoredBucket(level: 1, updatedAt: 2_000))
                    throw ThrownOnPurpose()
                }
            }
            let after = try await store.write { writer in
                (try writer.bucket(key), try writer.bucket("misses_per_minute:svc"))
            }
            #expect(after.0 == kept && after.1 == nil)
        },

        Check("a bucket read and put back in one write loses no update when many writes race") { store in
            let key = "reveals_per_minute:svc"
            let writes = 60
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<writes {
                    group.addTask {
                        try await store.write { writer in
                            let level = try writer.bucket(key)?.level ?? 0
                            try writer.putBucket(key, StoredBucket(level: level + 1, updatedAt: Int64(index)))
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.write { try $0.bucket(key) }?.level == Int64(writes))
        },
    ]
}
