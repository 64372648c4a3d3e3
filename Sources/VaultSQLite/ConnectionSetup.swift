import VaultCore

/// The settings every connection gets before its first use, with the reason for each.
extension SQLiteConnection {
    enum Role {
        /// The one connection that writes: a bigger page cache, since random-key inserts touch many pages.
        case writer
        /// A reader worker's connection: refuses writes, so a read closure can never change the vault.
        case reader
        /// A backup being written: durable and WAL like the vault it copies.
        case backupTarget
        /// The background checkpointer's: copies WAL frames into the database file, never through its cache.
        case checkpointer
    }

    func configure(as role: Role) throws {
        // Another process (the CLI during `cvault erase`, say) may hold the write lock for a moment: wait up
        // to 5 s for it instead of failing at once. Set first, so the pragmas below wait too.
        try setBusyTimeout(milliseconds: 5_000)
        // WAL: readers keep a consistent snapshot while the writer commits, and a commit appends to one file
        // (one fsync) instead of writing a rollback journal and the database.
        let mode = try queryOne("PRAGMA journal_mode=WAL", what: "enabling write-ahead logging") { $0.text(0) }
        guard mode?.lowercased() == "wal" else {
            throw VaultError(
                .storage,
                "the database \(path) cannot use write-ahead logging (journal mode stays \(mode ?? "unknown"))",
                hint: "keep the vault on a local disk; network and some virtual filesystems do not support WAL"
            )
        }
        // FULL: the WAL is fsynced at every commit, so a commit is durable before it returns. That is what
        // lets the vault hand out a token only once its row survives a power cut. NORMAL would not.
        try execute("PRAGMA synchronous=FULL", what: "setting synchronous=FULL")
        // Tokens reference their subject and go with it (ON DELETE CASCADE); SQLite enforces that only
        // when asked, per connection.
        try execute("PRAGMA foreign_keys=ON", what: "enabling foreign keys")
        // Erased rows' bytes are overwritten with zeros instead of lingering in free space: erasing a subject
        // (crypto-shredding its data key) must leave nothing of the wrapped key or ciphertext behind.
        try execute("PRAGMA secure_delete=ON", what: "enabling secure delete")
        // Sorts and temporary indexes stay in memory: no temp file with row data is ever written to disk.
        try execute("PRAGMA temp_store=MEMORY", what: "keeping temporary data in memory")
        // The default 2 MiB cache thrashes on random-key inserts (about 3x slower, docs/BENCHMARKS.md). The
        // writer gets 64 MiB; readers get 16 MiB each, since WAL discards a reader's cache whenever another
        // connection commits, so more would rarely be used.
        let cacheKiB =
            switch role {
            case .reader: 16_384
            case .checkpointer: 2_048
            case .writer, .backupTarget: 65_536
            }
        try execute("PRAGMA cache_size=-\(cacheKiB)", what: "setting the page cache size")
        // A store's writer hands checkpoints to a thread of its own (`Checkpointer`), which replaces this
        // setting on that connection. Any other connection that commits (a backup target) checkpoints inside
        // its commits after ~40 MB of WAL (10,000 pages) instead of ~4 MB, so fewer, larger ones.
        try execute("PRAGMA wal_autocheckpoint=10000", what: "setting the WAL checkpoint interval")
        if role == .reader {
            try execute("PRAGMA query_only=ON", what: "making a reader connection read-only")
        }
        // These statements run once: do not keep them prepared.
        forgetStatements()
    }
}
