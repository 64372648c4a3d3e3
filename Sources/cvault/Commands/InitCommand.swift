import ArgumentParser
import Foundation
import VaultCore
import VaultSQLite

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract:
            "Create a new vault: a keyring sealed by your passphrase (or by Shamir shares), and an empty database.",
        discussion: "Refuses to overwrite an existing keyring or database. Folders are created 0700, files 0600."
    )

    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions
    @Option(
        help: ArgumentHelp(
            "Seal with a secret split into this many Shamir shares instead of a passphrase.",
            valueName: "n"
        )
    ) var shares: Int?
    @Option(help: ArgumentHelp("How many shares open the vault (with --shares).", valueName: "k")) var threshold: Int?
    @Option(
        help: ArgumentHelp(
            "Write each share to its own file (mode 0600) in this new folder; else print each once.",
            valueName: "dir"
        )
    ) var shareDir: String?
    @Option(
        help: ArgumentHelp(
            "With --store: the server role the printed least-privilege SQL creates (docs/SCALING.md).",
            valueName: "name"
        )
    ) var serverRole = "cvault_server"

    func validate() throws {
        guard (shares == nil) == (threshold == nil) else {
            throw ValidationError("--shares and --threshold go together")
        }
        if shareDir != nil && shares == nil { throw ValidationError("--share-dir needs --shares and --threshold") }
    }

    func run() async throws {
        try await reporting {
            if case .postgres(let url) = try location.storeLocation() {
                try await createInPostgres(url)
                return
            }
            // An audit anchor left by a removed vault would not be signed by the new vault's key: refuse it too.
            let anchorPath = AuditAnchor.path(keyringPath: location.keyringPath)
            for path in [location.keyringPath, location.databasePath, anchorPath]
            where FileManager.default.fileExists(atPath: path) {
                throw VaultError(
                    .alreadyInitialized,
                    "a vault already exists: \(path)",
                    hint: "cvault never overwrites a vault; use other --keys/--data folders for a new one"
                )
            }
            let passphrase = shares == nil ? try Passphrase.read(file: unseal.passphraseFile, confirm: true) : nil
            if let shareDir, FileManager.default.fileExists(atPath: shareDir) {
                throw VaultError(
                    .alreadyInitialized,
                    "\(shareDir) already exists",
                    hint: "name a new folder for the shares"
                )
            }
            try FileSafety.makePrivateFolder(location.keysFolder)
            try FileSafety.makePrivateFolder(location.dataFolder)
            // The share folder first: a keyring whose shares could not be written could never be opened.
            if let shareDir { try FileSafety.makePrivateFolder(shareDir) }
            let store = try SQLiteStore.create(at: location.databasePath)
            var keyringCreated = false
            let keyring: Keyring
            var split: [UnsealShare] = []
            var written: [(index: UInt8, path: String)] = []
            do {
                if let passphrase {
                    keyring = try Keyring.create(at: location.keyringPath, credential: .passphrase(passphrase))
                } else {
                    (keyring, split) = try Keyring.createWithShares(
                        at: location.keyringPath,
                        threshold: threshold!,
                        count: shares!
                    )
                }
                keyringCreated = true
                if let shareDir { written = try writeShares(split, to: shareDir) }
                let vault = AdminSession.vault(keyring: keyring, store: store)
                try await vault.recordCreation()
                try await vault.sealAudit()
                await store.close()
            } catch {
                // A half-made vault would make every retry fail with "a vault already exists" (a short
                // passphrase is refused only after the database exists). Both files were created by this run
                // (O_EXCL) and hold nothing yet, so removing them loses nothing.
                await store.close()
                for path in [location.databasePath] + ["-wal", "-shm", "-journal"].map({ location.databasePath + $0 }) {
                    unlink(path)
                }
                if keyringCreated { unlink(location.keyringPath) }
                unlink(anchorPath)
                // Shares of a keyring that no longer exists are useless; the folder was made by this run.
                if let shareDir {
                    for share in split { unlink(Self.sharePath(shareDir, share)) }
                    rmdir(shareDir)
                }
                throw error
            }
            printKeyring(location.keyringPath, split: split, written: written)
            print("created database \(location.databasePath)")
            print("audit public key \(Hex.encode(keyring.auditPublicKey))")
        }
    }

    /// What `init` says about the keyring it made: where, how it is sealed, and the shares when it prints them.
    func printKeyring(_ name: String, split: [UnsealShare], written: [(index: UInt8, path: String)]) {
        if split.isEmpty {
            print(
                "created keyring \(name) (KEK v1 active, Argon2id \(Argon2id.moderateMem >> 20) MiB)"
            )
        } else {
            print(
                "created keyring \(name) (KEK v1 active, sealed by \(split.count) shares, any \(threshold!) open it)"
            )
            if shareDir == nil {
                print(
                    "the \(split.count) shares follow, one per line; give each to a different holder. They are shown only now:"
                )
                for share in split { print(share.encoded()) }
            }
            for (index, path) in written {
                print("wrote share \(index) to \(path): give it to its holder and delete this copy")
            }
        }
    }

    /// Shares are handed out once, each to its own file (or printed once); the vault keeps none of them.
    /// Runs before `init` succeeds, so a share that cannot be written undoes the whole vault.
    func writeShares(_ split: [UnsealShare], to shareDir: String) throws -> [(index: UInt8, path: String)] {
        try split.map { share in
            let path = Self.sharePath(shareDir, share)
            try FileSafety.writeAtomically(Array((share.encoded() + "\n").utf8), to: path, replace: false)
            return (share.index, path)
        }
    }

    private static func sharePath(_ shareDir: String, _ share: UnsealShare) -> String {
        "\(shareDir)/cvault-share-\(share.index).txt"
    }
}
