import ArgumentParser
import Foundation
import VaultCore
import VaultPostgres
import VaultSQLite
import VaultStoreRuntime

/// `cvault migrate --to postgresql://…`: the SQLite vault of --data and --keys, copied into PostgreSQL.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy the SQLite vault of --data/--keys into a PostgreSQL database, and verify the copy.",
        discussion: """
            Stop every server of the vault first: the SQLite vault is read, never changed, and must not change \
            meanwhile. Rows are copied table by table in batches, each committed with the progress it makes, \
            so a migration killed at any moment continues where it stopped when run again. A database that \
            holds another vault is refused. At the end the counts of every table are compared, the keyring is \
            stored in the database, every token is opened (as `cvault verify`) and the audit chain checked \
            against this keys folder's anchor (as `cvault audit verify`). Then serve the vault with --store.
            """
    )

    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions
    @Option(
        name: .customLong("to"),
        help: ArgumentHelp(
            "The PostgreSQL database to copy the vault into (empty, or this vault's half-done copy).",
            valueName: "url"
        )
    )
    var target: String
    @Option(help: ArgumentHelp("Rows per batch (one transaction each).", valueName: "n")) var batch = defaultBatch

    static let batches = 1...5_000
    static let defaultBatch = 500

    func run() async throws {
        try await reporting {
            try requireBatch(batch, in: Self.batches, default: Self.defaultBatch)
            let url = try VaultLocation.postgresURL(target, origin: "--to")
            guard case .sqlite(let databasePath) = try location.storeLocation() else {
                throw VaultError(
                    .invalidRequest,
                    "cvault migrate reads a vault in SQLite; --store or CVAULT_STORE names a PostgreSQL one",
                    hint: "unset CVAULT_STORE and give the SQLite vault's --data and --keys folders"
                )
            }
            let keyring = try await unseal.openKeyring(from: FileKeyringSource(path: location.keyringPath))
            let source = try SQLiteStore.open(at: databasePath)
            do {
                var copy = try await MigrationCopy.prepare(url, vault: keyring.file.auditPublicKey)
                do {
                    try await copy.copyRows(from: source, batch: batch)
                    try await copy.compareCounts(with: source)
                    try await copy.storeKeyring(keyring)
                    await copy.target.close()
                } catch {
                    await copy.target.close()
                    throw error
                }
                await source.close()
            } catch {
                await source.close()
                throw error
            }
            try await verify(url, keyring: keyring)
        }
    }

    /// Opens the copy afresh, through the keyring now stored in it, as a server would: every token must open
    /// and the audit chain must hold against this keys folder's anchor. Only then is the migration ended.
    private func verify(_ url: PostgresURL, keyring: Keyring) async throws {
        let backend = try await PostgresBackend.open(url)
        let opened = OpenedStore(postgres: backend, location: .postgres(url), keysFolder: location.keysFolder)
        do {
            let stored = try await opened.keyringFile()
            guard stored == keyring.file else {
                throw VaultError(
                    .integrity,
                    "the keyring stored in \(url) is not this vault's",
                    hint: "migrate into an empty database"
                )
            }
            let vault = AdminSession.vault(keyring: keyring, store: opened.store)
            let report = try await vault.verifyAll()
            guard report.failures == 0 else {
                throw VaultError(
                    .integrity,
                    "\(report.failures) of \(report.tokens) token rows fail authentication in the copy",
                    hint: "run `cvault verify` on the SQLite vault; if it passes, migrate again into an empty database"
                )
            }
            print("verify: \(report.tokens) tokens of \(report.subjects) subjects authenticate in \(url)")
            let anchor = try readAnchor(explicit: nil, location: location)
            let audit = try await opened.store.read { reader in
                try AuditVerifier.verify(reader: reader, publicKey: keyring.auditPublicKey, anchor: anchor)
            }
            guard audit.ok else {
                throw VaultError(
                    .audit,
                    "the copy's audit log is NOT intact: \(audit.problem!)",
                    hint: "migrate again into an empty database"
                )
            }
            print("audit verify: \(audit.summary)")
            try await backend.store.endMigration()
            await opened.close()
        } catch {
            await opened.close()
            throw error
        }
        print("migrated: serve the vault with --store \(url) (or CVAULT_STORE); the keyring is in the database")
    }
}

/// One migration's target and what it has done, in the order `MigrateCommand` runs it.
struct MigrationCopy {
    let target: PostgresStore
    let url: PostgresURL
    var copied: [String: Int]

    /// The progress key of the subject index's pending references, copied into `audit_subjects`.
    static let pendingKey = "audit_subjects_pending"
    static var progressKeys: [String] { MigrationTable.all.map(\.name) + [pendingKey] }

    /// An empty database gets the schema and a fresh progress record; this vault's half-done copy is resumed;
    /// anything else is refused.
    static func prepare(_ url: PostgresURL, vault: String) async throws -> MigrationCopy {
        do {
            let created = try await PostgresBackend.create(url).store
            try await created.startMigration(vault: vault, progressKeys: progressKeys)
            print("created the vault's tables in \(url)")
            return MigrationCopy(target: created, url: url, copied: [:])
        } catch let error as VaultError where error.code == .alreadyInitialized {
            let store = try await PostgresBackend.open(url).store
            do {
                if let progress = try await store.migrationProgress() {
                    guard progress.vault == vault else {
                        throw refusal(url, "holds a migration of another vault")
                    }
                    print("resuming the migration into \(url)")
                    return MigrationCopy(target: store, url: url, copied: progress.copied)
                }
                guard try await store.migrationTargetIsEmpty() else { throw refusal(url, "already holds a vault") }
                try await store.startMigration(vault: vault, progressKeys: progressKeys)
                return MigrationCopy(target: store, url: url, copied: [:])
            } catch {
                await store.close()
                throw error
            }
        }
    }

    private static func refusal(_ url: PostgresURL, _ what: String) -> VaultError {
        VaultError(
            .alreadyInitialized,
            "the PostgreSQL database \(url) \(what)",
            hint: "migrate into an empty database; cvault never writes over another vault"
        )
    }

    /// Every table, in batches from where the last run stopped; then the counters.
    mutating func copyRows(from source: SQLiteStore, batch: Int) async throws {
        for table in MigrationTable.all {
            var done = copied[table.name] ?? 0
            while true {
                let rows = try await source.migrationRows(table, offset: done, limit: batch)
                guard !rows.isEmpty else { break }
                try await target.insertMigrationRows(
                    table,
                    rows,
                    progressKey: table.name,
                    copiedBefore: done,
                    sourceRows: rows.count
                )
                done += rows.count
            }
            copied[table.name] = done
            print("\(table.name): \(done) rows copied")
        }
        let index = MigrationTable.all.first { $0.name == "audit_subjects" }!
        var records = copied[Self.pendingKey] ?? 0
        while true {
            let pending = try await source.migrationPendingSubjectRows(offset: records, limit: batch)
            guard pending.records > 0 else { break }
            try await target.insertMigrationRows(
                index,
                pending.rows,
                progressKey: Self.pendingKey,
                copiedBefore: records,
                sourceRows: pending.records,
                ignoringDuplicates: true
            )
            records += pending.records
        }
        copied[Self.pendingKey] = records
        try await target.setMigrationCounters(source.migrationCounters())
    }

    /// The copy holds as many rows of every table as the source: a source changed during the migration (a
    /// server ran on it) is caught here.
    func compareCounts(with source: SQLiteStore) async throws {
        let pending = try await source.migrationPendingSubjectCount()
        for table in MigrationTable.all {
            var expected = try await source.migrationCount(table)
            if table.name == "audit_subjects" { expected += pending.references }
            let found = try await target.migrationCount(table.name)
            guard found == expected else {
                throw VaultError(
                    .integrity,
                    "\(table.name): the copy holds \(found) rows, the SQLite vault \(expected)",
                    hint: "stop every server of the SQLite vault (it changed during the migration), then migrate "
                        + "again into an empty database"
                )
            }
            print("count \(table.name): \(found) = \(expected)")
        }
    }

    /// The sealed keyring, stored last: a half-done copy has none, so no server can open it.
    func storeKeyring(_ keyring: Keyring) async throws {
        if let stored = try await target.storedKeyring() {
            guard stored.bytes == keyring.file.encoded() else {
                throw VaultError(
                    .integrity,
                    "the keyring stored in \(url) is not this vault's keyring as it is now",
                    hint: "migrate into an empty database"
                )
            }
            return
        }
        try await target.storeKeyring(bytes: keyring.file.encoded(), generation: keyring.generation, replacing: nil)
        print("stored the keyring (generation \(keyring.generation)) in the database")
    }
}
