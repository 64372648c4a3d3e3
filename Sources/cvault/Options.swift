import ArgumentParser
import Foundation
import VaultCore
import VaultPostgres

/// Where the vault lives. Flags win over environment variables, which win over the defaults.
struct VaultLocation: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder holding the keyring (env CVAULT_KEYS).", valueName: "dir"))
    var keys: String?

    @Option(name: .long, help: ArgumentHelp("Folder holding the database (env CVAULT_DATA).", valueName: "dir"))
    var data: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A PostgreSQL database to keep the vault in, as postgresql://user@host/db (env CVAULT_STORE; the password, if any, from the URI, PGPASSWORD or ~/.pgpass). Without it, the SQLite database in --data.",
            valueName: "url"
        )
    )
    // A `String`, parsed by `storeLocation()`: a parse error of argument-parser's own would repeat the value,
    // and with it a password.
    var store: String?

    var keysFolder: String { keys ?? env("CVAULT_KEYS") ?? "./Keys" }
    var dataFolder: String { data ?? env("CVAULT_DATA") ?? "./data" }
    var keyringPath: String { keysFolder + "/cvault.keyring" }
    var databasePath: String { dataFolder + "/cvault.db" }

    /// The store: `--store`, else `CVAULT_STORE`, else the SQLite database in the data folder. Neither text
    /// is ever repeated in an error: it may hold a password.
    func storeLocation() throws(VaultError) -> StoreLocation {
        let origin = store == nil ? "CVAULT_STORE" : "--store"
        guard let text = store ?? env("CVAULT_STORE") else { return .sqlite(databasePath: databasePath) }
        do {
            return .postgres(try PostgresURL(text))
        } catch let error as VaultError {
            throw VaultError(
                .invalidRequest,
                "\(origin) is not a store cvault can open: \(error.message)",
                hint: (error.hint.map { $0 + "; " } ?? "") + Self.storeDefault
            )
        } catch {
            throw VaultError(.invalidRequest, "\(origin) is not a store cvault can open", hint: Self.storeDefault)
        }
    }

    static let storeDefault = "without --store or CVAULT_STORE, the vault is the SQLite database in the --data folder"

    /// A malformed --store or CVAULT_STORE is a usage error, before any work.
    func validate() throws {
        do { _ = try storeLocation() } catch { throw ValidationError("\(error.message): \(error.hint ?? "")") }
    }
}

/// How to open the keyring: a passphrase, or Shamir shares for a keyring sealed by `init --shares`.
struct UnsealOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read the passphrase from this file (mode 0600); else CVAULT_PASSPHRASE, else a prompt.",
            valueName: "file"
        )
    )
    var passphraseFile: String?

    @Option(
        name: .customLong("unseal-share"),
        help: ArgumentHelp(
            "A share file (mode 0600), repeated up to the threshold, for a keyring sealed by shares.",
            valueName: "file"
        )
    )
    var unsealShares: [String] = []

    /// The credential for the keyring kept in `source`: shares if given or if the keyring needs them, else the
    /// passphrase.
    func credential(for source: any KeyringSource) async throws -> UnsealCredential {
        if !unsealShares.isEmpty {
            return .shares(
                try unsealShares.map { file throws -> UnsealShare in
                    try FileSafety.requirePrivate(file, what: "share file")
                    return try Secret.withFile(file, what: "share file") { bytes throws(VaultError) in
                        try UnsealShare.parse(bytes: bytes, source: file)
                    }
                }
            )
        }
        let keyring = try await source.read()
        if keyring.seal.method == "shamir" {
            return .shares(try Passphrase.promptShares(threshold: keyring.seal.threshold ?? 2))
        }
        return .passphrase(try Passphrase.read(file: passphraseFile))
    }
}

/// The policy file.
struct PolicyOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("Policy file (env CVAULT_POLICY). Without one, everything is denied.", valueName: "file")
    )
    var policy: String?

    var path: String? { policy ?? env("CVAULT_POLICY") }
}

/// One environment variable, read with `getenv`: `ProcessInfo.environment` would copy every variable into
/// `String`s, the passphrase included, where nothing can wipe them. Never use this for a secret
/// (`Secret.takeFromEnvironment` is for those).
func env(_ name: String) -> String? {
    guard let raw = getenv(name) else { return nil }
    let value = String(cString: raw)
    return value.isEmpty ? nil : value
}

/// Socket mode: talk to a running `cvault serve` instead of opening the vault's files.
struct SocketOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Send the request to the `cvault serve` listening on this socket (env CVAULT_SOCKET). Without either, the vault's files are opened directly.",
            valueName: "path"
        )
    )
    var socket: String?

    /// The socket to use, or nil for the offline mode.
    var path: String? { socket ?? env("CVAULT_SOCKET") }
}
