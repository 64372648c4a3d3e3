import ArgumentParser
import Foundation
import VaultCore
import VaultSQLite

#if canImport(Glibc)
import Glibc
#endif

/// What a backup folder holds besides the database copy: enough to check the copy before restoring it.
struct BackupManifest: Codable {
    /// Names this layout: a restore refuses a folder that holds any other.
    var format = "cvault-backup-v1"
    /// When the copy was made (ISO 8601) and the database it was made from, for the operator to read.
    var created: String
    var source: String
    /// The copy's counts as written, which the restored database must show again (`matches`).
    var subjects: Int
    var tokens: Int
    var auditRecords: Int
    /// Hex BLAKE2b-256 of cvault.db as written.
    var databaseHash: String
    /// The keyring generation and KEK versions the data keys in this copy need.
    var keyringGeneration: Int
    var kekVersionsNeeded: [Int]

    enum CodingKeys: String, CodingKey {
        case format, created, source, subjects, tokens
        case auditRecords = "audit_records"
        case databaseHash = "database_hash"
        case keyringGeneration = "keyring_generation"
        case kekVersionsNeeded = "kek_versions_needed"
    }

    /// Whether a database's counts are the ones this manifest recorded for its copy.
    func matches(_ stats: StoreStats) -> Bool {
        stats.subjects == subjects && stats.tokens == tokens && stats.auditRecords == auditRecords
    }

    static func hash(of path: String) throws(VaultError) -> String {
        Hex.encode(BLAKE2b.hash(try FileSafety.readAll(path, what: "database copy"), outputLength: 32))
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database consistently while the server runs (SQLite's online backup), with a manifest.",
        discussion:
            "The keyring is NOT in the backup: back it up separately and store it apart (docs/OPERATIONS.md). Needs no passphrase."
    )

    @OptionGroup var location: VaultLocation
    @Argument(help: "A new folder for the backup.") var destination: String

    func run() async throws {
        try await reporting {
            guard !FileManager.default.fileExists(atPath: destination) else {
                throw VaultError(
                    .alreadyInitialized,
                    "\(destination) already exists",
                    hint: "name a new folder for each backup"
                )
            }
            let (opened, keyring) = try await location.openStoreWithKeyringFile()
            let store: SQLiteStore
            do {
                store = try opened.sqliteOnly("cvault backup", instead: OpenedStore.postgresBackupHint)
            } catch {
                await opened.close()
                throw error
            }
            try FileSafety.makePrivateFolder(destination)
            let copy = destination + "/cvault.db"
            try await store.backup(to: copy)
            await store.close()
            let backup = try SQLiteStore.open(at: copy)
            let stats = try await backup.read { try $0.stats() }
            await backup.close()
            let manifest = BackupManifest(
                created: VaultClock.iso8601(VaultClock.system.now()),
                source: location.databasePath,
                subjects: stats.subjects,
                tokens: stats.tokens,
                auditRecords: stats.auditRecords,
                databaseHash: try BackupManifest.hash(of: copy),
                keyringGeneration: keyring.generation,
                kekVersionsNeeded: stats.dataKeysByKEK.keys.sorted()
            )
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try FileSafety.writeAtomically(
                Array(try encoder.encode(manifest)) + [0x0A],
                to: destination + "/manifest.json",
                replace: false
            )
            print(
                "backed up \(stats.subjects) subjects, \(stats.tokens) tokens, \(stats.auditRecords) audit records to \(destination)"
            )
            print(
                "the keyring is not in the backup: keep a copy of \(location.keyringPath) (generation \(keyring.generation)) apart from it"
            )
        }
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Bring a backup's database into an empty data folder, after checking it against its manifest.",
        discussion: """
            Needs the keyring, and records the restore in the audit log. A backup whose audit log does not reach \
            the vault's audit anchor (it is older than the last seal) rolls the vault back: reveal counts, \
            erased subjects and audit records after the backup (docs/OPERATIONS.md). That is refused unless you \
            pass --accept-rollback; then the restore record names the head that was lost. Then run `cvault verify`.
            """
    )

    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions
    @Flag(help: "Restore a backup older than the audit anchor, rolling the vault back (recorded in the audit log).")
    var acceptRollback = false
    @Argument(help: "A folder written by `cvault backup`.") var source: String

    func run() async throws {
        try await reporting {
            let manifestBytes = try FileSafety.readAll(source + "/manifest.json", what: "backup manifest")
            guard let manifest = try? JSONDecoder().decode(BackupManifest.self, from: Data(manifestBytes)),
                manifest.format == "cvault-backup-v1"
            else {
                throw VaultError(
                    .invalidRequest,
                    "\(source) has no valid cvault backup manifest",
                    hint: "give a folder written by `cvault backup`"
                )
            }
            let copy = source + "/cvault.db"
            guard try BackupManifest.hash(of: copy) == manifest.databaseHash else {
                throw VaultError(
                    .integrity,
                    "\(copy) does not match its manifest's hash (altered or incomplete)",
                    hint: "restore from another backup"
                )
            }
            if case .postgres(let url) = try location.storeLocation() {
                throw VaultError(
                    .invalidRequest,
                    "cvault restore works only on a vault in SQLite; \(url) is a PostgreSQL database",
                    hint: OpenedStore.postgresBackupHint
                )
            }
            if FileManager.default.fileExists(atPath: location.databasePath) {
                throw VaultError(
                    .alreadyInitialized,
                    "\(location.databasePath) already exists",
                    hint: "restore only into an empty data folder; move the current database away first"
                )
            }
            // A WAL or journal left by the database that was moved away (after a crash they remain) would be
            // replayed into the restored copy on first open, mixing the old database's pages into it.
            let sideFiles = ["-wal", "-shm", "-journal"].map { location.databasePath + $0 }
            for side in sideFiles where FileManager.default.fileExists(atPath: side) {
                throw VaultError(
                    .alreadyInitialized,
                    "\(side) is left from another database",
                    hint: "move it away together with that database (it belongs to it), then restore again"
                )
            }
            // The keyring before anything is written: a restore is an admin operation, and it is recorded.
            let keyringFile = FileKeyringSource(path: location.keyringPath)
            let keyring = try await Keyring.open(from: keyringFile, credential: unseal.credential(for: keyringFile))
            try FileSafety.makePrivateFolder(location.dataFolder)
            try FileSafety.writeAtomically(
                try FileSafety.readAll(copy, what: "database copy"),
                to: location.databasePath,
                replace: false
            )
            let store = try SQLiteStore.open(at: location.databasePath)
            let stats: StoreStats
            let lost: AuditSealer.Head?
            do {
                stats = try await store.read { try $0.stats() }
                guard manifest.matches(stats) else {
                    throw VaultError(
                        .integrity,
                        "the restored database's counts differ from the manifest",
                        hint: "restore from another backup"
                    )
                }
                let vault = AdminSession.vault(keyring: keyring, store: store)
                lost = try await vault.recordRestore(from: source, allowRollback: acceptRollback, uid: getuid())
                await store.close()
            } catch {
                await store.close()
                // Leave nothing a later command or server could open as if the restore had worked.
                for path in [location.databasePath] + sideFiles { unlink(path) }
                throw error
            }
            print(
                "restored \(stats.subjects) subjects, \(stats.tokens) tokens, \(stats.auditRecords) audit records into \(location.databasePath)"
            )
            if let lost {
                print(
                    "ROLLED BACK: the vault had sealed up to \(lost); everything after the backup is gone "
                        + "(reveal counts, erasures, audit records): see docs/OPERATIONS.md. Recorded as a `restore` rollback"
                )
            }
            print(
                "it needs KEK version(s) \(manifest.kekVersionsNeeded.map { "v\($0)" }.joined(separator: ", ")); run `cvault verify` to check every row"
            )
        }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Authenticate every stored row under the keyring and verify the audit chain; exit 3 on any failure.",
        discussion: "Reveals nothing: each value is opened into memory that is wiped at once."
    )

    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions

    func run() async throws {
        try await reporting {
            let session = try await AdminSession.open(location, unseal)
            let report = try await session.vault.verifyAll()
            await session.store.close()
            for example in report.examples {
                FileHandle.standardError.write("cvault: error: fails authentication: \(example)\n")
            }
            guard report.failures == 0 else {
                throw VaultError(
                    .integrity,
                    "\(report.failures) of \(report.tokens) token rows fail authentication",
                    hint: "restore them from a backup; the rows named above were altered or moved"
                )
            }
            guard report.audit.ok else {
                throw VaultError(
                    .audit,
                    "audit log is NOT intact: \(report.audit.problem!)",
                    hint: "run `cvault audit verify` for details"
                )
            }
            print(
                "verified: \(report.tokens) tokens of \(report.subjects) subjects authenticate; audit log intact (\(report.audit.records) records)"
            )
        }
    }
}
