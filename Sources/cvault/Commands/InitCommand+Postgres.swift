import Foundation
import VaultCore
import VaultPostgres

#if canImport(Glibc)
import Glibc
#endif

extension InitCommand {
    /// `init --store postgres://…`: the schema and the sealed keyring in the database (one source of truth for
    /// every server), the audit anchor in the local keys folder, then the SQL that gives the servers a role
    /// that can append to the audit log but never rewrite it.
    func createInPostgres(_ url: PostgresURL) async throws {
        let anchorPath = AuditAnchor.path(keyringPath: location.keyringPath)
        for path in [location.keyringPath, anchorPath] where FileManager.default.fileExists(atPath: path) {
            throw VaultError(
                .alreadyInitialized,
                "a vault already uses this keys folder: \(path)",
                hint: "give a keys folder of its own (--keys) to the new vault's audit anchor"
            )
        }
        let passphrase = shares == nil ? try Passphrase.read(file: unseal.passphraseFile, confirm: true) : nil
        // Before the database is touched: a refusal after the schema exists would leave a vault without keys.
        if let passphrase, passphrase.count < Keyring.minimumPassphraseBytes {
            throw VaultError(
                .invalidRequest,
                "the passphrase is shorter than \(Keyring.minimumPassphraseBytes) characters",
                hint: "choose a longer passphrase (a few random words work well)"
            )
        }
        if let shareDir, FileManager.default.fileExists(atPath: shareDir) {
            throw VaultError(
                .alreadyInitialized,
                "\(shareDir) already exists",
                hint: "name a new folder for the shares"
            )
        }
        try FileSafety.makePrivateFolder(location.keysFolder)
        if let shareDir { try FileSafety.makePrivateFolder(shareDir) }
        let backend = try await PostgresBackend.create(url)
        let opened = OpenedStore(postgres: backend, location: .postgres(url), keysFolder: location.keysFolder)
        let sql: String
        let keyring: Keyring
        var split: [UnsealShare] = []
        var written: [(index: UInt8, path: String)] = []
        do {
            if let passphrase {
                keyring = try await Keyring.create(in: opened.keyringSource, credential: .passphrase(passphrase))
            } else {
                (keyring, split) = try await Keyring.createWithShares(
                    in: opened.keyringSource,
                    threshold: threshold!,
                    count: shares!
                )
            }
            if let shareDir { written = try writeShares(split, to: shareDir) }
            let vault = AdminSession.vault(keyring: keyring, store: opened.store)
            try await vault.recordCreation()
            try await vault.sealAudit()
            sql = try await backend.leastPrivilegeSQL(role: serverRole)
            await opened.close()
        } catch {
            await opened.close()
            if let shareDir {
                for (_, path) in written { unlink(path) }
                rmdir(shareDir)
            }
            throw error
        }
        printKeyring(opened.keyringSource.name, split: split, written: written)
        print("created the vault's tables in \(url)")
        print("audit anchor \(anchorPath): each server keeps its own, in its keys folder")
        print("audit public key \(Hex.encode(keyring.auditPublicKey))")
        print("")
        print("-- Run as the database owner to give the servers a role that can append to the audit log but never")
        print("-- change or delete it (docs/SCALING.md); then point each server's --store at that role.")
        print(sql)
    }
}
