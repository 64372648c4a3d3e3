import VaultCore

/// A store access that can say how many changes that could make an earlier read stale have committed: erases,
/// consent decisions, restrictions set or lifted, retention purges (each backend's `erasures.generation`).
public protocol ChangeCounting {
    func changeGeneration() throws -> Int64
}

/// A store with one group-committing writer and readers of their own, whose `readThenWrite` chooses where
/// the read runs (`readThenWrite` below).
public protocol GroupWritingStore: VaultStore {
    /// Whether the writer is waiting for work with nothing queued. A hint: it may change at once.
    var writerIsIdle: Bool { get }
}

extension GroupWritingStore {
    /// Reads of at most this many items always run inside the write job: for them the second thread hand-off
    /// would cost more than the read itself.
    public static var smallRead: Int { 8 }

    /// Runs `read` inside the write job when it is small or the writer has nothing else to do (`.current`: it
    /// sees the write's own state), and on a reader first otherwise (`readOnReaderThenWrite`). In the write job
    /// it uses the writer's cache, which stays warm (SQLite: every commit empties a WAL reader's page cache, so
    /// a reader re-reads each page with `pread`; measured on detokenize 1 client × 256 tokens, 10.5 µs of
    /// server CPU per token in the write job against 14.8 on a reader). But when calls queue up for the writer,
    /// readers spread the look-ups over both cores while the writer commits (SQLite, 64 clients × 256: 149 k/s
    /// against 120 k/s all in the write job), so a busy writer sends them there. The store's `readThenWrite`.
    public func readThenWrite<R: Sendable, T: Sendable>(
        items: Int,
        read: @escaping @Sendable (any StoreReader) throws -> R,
        write: @escaping @Sendable (any StoreWriter, R, ReadSnapshot) throws -> T
    ) async throws -> T {
        if items <= Self.smallRead || writerIsIdle {
            return try await self.write { writer in try write(writer, read(writer), .current) }
        }
        return try await readOnReaderThenWrite(read: read, between: nil, write: write)
    }

    /// The read on a reader, then the write; `between` runs in between (tests use it to change something
    /// there). The change count is read first in the read's transaction (so it belongs to the snapshot the read
    /// sees) and again in the write: equal means nothing that could make the read stale committed in between
    /// (`.current`), so the write need not re-check that the rows still exist. One query each side, however
    /// many rows the read found. An access that cannot count changes gets `.changedSince`.
    public func readOnReaderThenWrite<R: Sendable, T: Sendable>(
        read: @escaping @Sendable (any StoreReader) throws -> R,
        between: (@Sendable () async throws -> Void)?,
        write: @escaping @Sendable (any StoreWriter, R, ReadSnapshot) throws -> T
    ) async throws -> T {
        let (found, generation) = try await self.read { reader in
            let generation = try (reader as? any ChangeCounting)?.changeGeneration()
            return (try read(reader), generation)
        }
        if let between { try await between() }
        return try await self.write { writer in
            let now = try (writer as? any ChangeCounting)?.changeGeneration()
            let unchanged = generation != nil && now == generation
            return try write(writer, found, unchanged ? .current : .changedSince)
        }
    }
}
