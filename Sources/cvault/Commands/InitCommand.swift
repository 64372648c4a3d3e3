import ArgumentParser
import Foundation
import VaultCore
import VaultSQLite

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new vault: a keyring sealed by your passphrase, and an empty database.",
        discussion: "Refuses to overwrite an existing keyring or database. Folders are created 0700, files 0600.")

    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions

    func run() async throws {
        try await reporting {
            for path in [location.keyringPath, location.databasePath] where FileManager.default.fileExists(atPath: path) {
                throw VaultError(.alreadyInitialized, "a vault already exists: \(path)",
                                 hint: "cvault never overwrites a vault; use other --keys/--data folders for a new one")
            }
            let passphrase = try Passphrase.read(file: unseal.passphraseFile, confirm: true)
            try FileSafety.makePrivateFolder(location.keysFolder)
            try FileSafety.makePrivateFolder(location.dataFolder)
            let store = try SQLiteStore.create(at: location.databasePath)
            var keyringCreated = false
            let keyring: Keyring
            do {
                keyring = try Keyring.create(at: location.keyringPath, credential: .passphrase(passphrase))
                keyringCreated = true
                let vault = Vault(keyring: keyring, store: store, policies: PolicyHolder(path: "", initial: .denyAll, logger: quietLogger()), logger: quietLogger())
                try await vault.audit("init", caller: nil, detail: "kek v1, token key v1, audit key \(Hex.encode(keyring.auditPublicKey))")
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
                throw error
            }
            print("created keyring \(location.keyringPath) (KEK v1 active, Argon2id \(Argon2id.moderateMem >> 20) MiB)")
            print("created database \(location.databasePath)")
            print("audit public key \(Hex.encode(keyring.auditPublicKey))")
        }
    }
}
