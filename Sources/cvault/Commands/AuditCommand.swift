import ArgumentParser
import Foundation
import VaultCore
import VaultSQLite

#if canImport(Glibc)
import Glibc
#endif

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify and export the tamper-evident audit log (verify, head and export need no passphrase).",
        subcommands: [Verify.self, Export.self, Head.self, Accept.self]
    )
}

extension AuditCommand {
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the hash chain and every seal; exit 0 if intact, 3 naming the first bad record if not."
        )

        @OptionGroup var location: VaultLocation
        @Option(
            help: ArgumentHelp(
                "A head exported earlier with `cvault audit head`: the log must still reach it.",
                valueName: "file"
            )
        )
        var head: String?
        @Option(
            help: ArgumentHelp(
                "Verify seals with this public key (hex) instead of the keyring's; pin it from `cvault keys list`.",
                valueName: "hex"
            )
        )
        var publicKey: String?
        @Option(
            help: ArgumentHelp(
                "The audit anchor to check the log against (default: audit.anchor in the keys folder, if it exists).",
                valueName: "file"
            )
        )
        var anchor: String?

        func run() async throws {
            try await reporting {
                let (store, key) = try await openWithAuditKey(location, override: publicKey)
                let exported = try head.map { path throws(VaultError) -> AuditHead in
                    let bytes = try FileSafety.readAll(path, what: "head file")
                    guard let head = try? JSONDecoder().decode(AuditHead.self, from: Data(bytes)) else {
                        throw VaultError(
                            .invalidRequest,
                            "\(path) is not a head exported by `cvault audit head`",
                            hint: "export one again"
                        )
                    }
                    return head
                }
                let anchored = try readAnchor(explicit: anchor, location: location)
                let report = try await store.store.read { reader in
                    try AuditVerifier.verify(reader: reader, publicKey: key, head: exported, anchor: anchored)
                }
                await store.close()
                guard report.ok else {
                    throw VaultError(
                        .audit,
                        "audit log is NOT intact: \(report.problem!)",
                        hint:
                            "the log was altered; compare with your last exported head and a backup (docs/OPERATIONS.md: when the audit log breaks)"
                    )
                }
                print(report.summary)
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print audit records as JSON lines, oldest first.")

        @OptionGroup var location: VaultLocation
        @Option(help: ArgumentHelp("Only records at or after this ISO 8601 time.", valueName: "time")) var since:
            String?
        @Option(help: "Only records of this identity.") var identity: String?
        @Option(help: "Only records with this purpose.") var purpose: String?
        @Option(help: "Only records of this event (tokenize, detokenize, erase, …).") var event: String?
        @Option(
            help: ArgumentHelp(
                "Only records naming this token (needs the keyring: tokens are recorded by keyed reference).",
                valueName: "token"
            )
        )
        var token: String?
        @OptionGroup var unseal: UnsealOptions

        func run() async throws {
            try await reporting {
                let sinceSeconds = try since.map { text throws(VaultError) -> Int64 in
                    guard let s = VaultClock.parseISO8601(text) else {
                        throw VaultError(
                            .invalidRequest,
                            "--since is not an ISO 8601 time",
                            hint: "write it like 2026-11-01T00:00:00Z"
                        )
                    }
                    return s
                }
                // A token is found by its keyed reference (records since tokens were recorded that way) or as
                // itself (older records, which the chain keeps as they were written).
                let opened = try await location.openStore()
                var tokens: Set<String>?
                if let token {
                    let source = opened.keyringSource
                    let keyring = try await Keyring.open(from: source, credential: unseal.credential(for: source))
                    tokens = [keyring.auditReference(of: token), token]
                }
                let store = opened.store
                var cursor: Int64 = 1
                while true {
                    let from = cursor
                    let rows = try await store.read { try $0.auditRows(from: from, limit: 5_000) }
                    guard let last = rows.last else { break }
                    for row in rows {
                        guard let record = AuditExport.record(row),
                            record.matches(
                                since: sinceSeconds,
                                identity: identity,
                                purpose: purpose,
                                event: event,
                                tokens: tokens
                            )
                        else { continue }
                        print(record.line)
                    }
                    cursor = last.seq + 1
                }
                await store.close()
            }
        }
    }

    struct Head: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print the last signed head as JSON; keep it somewhere safe to later check the log with `verify --head`."
        )

        @OptionGroup var location: VaultLocation

        func run() async throws {
            try await reporting {
                let (store, file) = try await location.openStoreWithKeyringFile()
                let seal = try await store.store.read { try $0.auditSeals().last }
                await store.close()
                guard let seal else {
                    throw VaultError(
                        .audit,
                        "the audit log has no seal yet",
                        hint: "run any command that writes, then try again"
                    )
                }
                let head = AuditHead(
                    seq: seal.seq,
                    hash: Hex.encode(seal.hash),
                    signature: Hex.encode(seal.signature),
                    publicKey: file.auditPublicKey
                )
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try! encoder.encode(head), as: UTF8.self))
            }
        }
    }
}

extension AuditCommand {
    struct Accept: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept a broken audit log as the database holds it: record why, seal it and move the anchor.",
            discussion: """
                Only for a log that no longer extends its anchor (`cvault audit verify` exits 3, `health` says \
                "audit":"broken"), after you investigated and chose not to restore a backup. Writes an \
                `audit_accept` record naming the anchored head that was lost and the database head accepted; a \
                running server picks the new anchor up within a second and reveals again. Needs the keyring.
                """
        )

        @OptionGroup var location: VaultLocation
        @OptionGroup var unseal: UnsealOptions
        @Option(help: ArgumentHelp("Why the log is accepted (recorded in the log).", valueName: "text")) var reason:
            String

        func validate() throws {
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty, reason.utf8.count <= 500 else {
                throw ValidationError("--reason must say why, in at most 500 bytes")
            }
        }

        func run() async throws {
            try await reporting {
                let session = try await AdminSession.open(location, unseal)
                do {
                    let (lost, accepted) = try await session.vault.acceptAuditLog(reason: reason, uid: getuid())
                    await session.store.close()
                    print("accepted the audit log at \(accepted); the anchored head \(lost) is no longer required")
                    print("recorded as `audit_accept`; a running server seals and reveals again within a second")
                } catch {
                    await session.store.close()
                    throw error
                }
            }
        }
    }
}

/// The anchor to verify against: `--anchor FILE` (which must exist), else the keys folder's if there is one.
func readAnchor(explicit: String?, location: VaultLocation) throws(VaultError) -> AuditAnchor? {
    if let explicit {
        guard let anchor = try AuditAnchor.read(at: explicit) else {
            throw VaultError(
                .invalidRequest,
                "no audit anchor at \(explicit)",
                hint: "give the audit.anchor file from the vault's keys folder"
            )
        }
        return anchor
    }
    // A reviewer without access to the keys folder verifies without it (the seals and a pinned key still hold).
    let path = AuditAnchor.path(keyringPath: location.keyringPath)
    guard FileManager.default.isReadableFile(atPath: path) else { return nil }
    return try AuditAnchor.read(at: path)
}

/// The store, and the key that verifies its audit seals: `--public-key` if given, else the keyring's.
func openWithAuditKey(_ location: VaultLocation, override: String?) async throws -> (OpenedStore, [UInt8]) {
    if let override {
        let key = try auditPublicKey(hex: override)
        return (try await location.openStore(), key)
    }
    let (store, file) = try await location.openStoreWithKeyringFile()
    return (store, try auditPublicKey(hex: file.auditPublicKey))
}

/// An audit public key given in hex (`--public-key`, or the keyring file's).
func auditPublicKey(hex: String) throws(VaultError) -> [UInt8] {
    guard let key = Hex.decode(hex), key.count == Ed25519.publicKeyBytes else {
        throw VaultError(
            .invalidRequest,
            "the audit public key must be 64 hex digits",
            hint: "copy it from `cvault keys list`"
        )
    }
    return key
}
