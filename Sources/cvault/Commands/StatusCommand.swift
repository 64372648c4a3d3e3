import ArgumentParser
import Foundation
import VaultCore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show where the vault is, its keys' versions and its counts. Needs no passphrase."
    )

    @OptionGroup var location: VaultLocation

    func run() async throws {
        for warning in hardeningWarnings() {
            FileHandle.standardError.write("cvault: warning: \(warning.message)\ncvault: hint: \(warning.hint)\n")
        }
        try await reporting {
            let (opened, file) = try await location.openStoreWithKeyringFile()
            let store = opened.store
            let stats = try await store.read { try $0.stats() }
            // The anchor too when it can be read: a log rewritten after its last seal breaks only against it.
            let anchor = try? readAnchor(explicit: nil, location: location)
            let report = try await store.read { reader in
                try AuditVerifier.verify(
                    reader: reader,
                    publicKey: Hex.decode(file.auditPublicKey) ?? [],
                    anchor: anchor ?? nil
                )
            }
            await store.close()
            print(
                "keyring   \(opened.keyringSource.name) (generation \(file.generation), sealed by \(file.seal.method))"
            )
            print("database  \(opened.location)")
            print("KEK       v\(file.activeKEK?.version ?? 0) active; \(file.keks.count) version(s)")
            print("token key v\(file.activeTokenKey?.version ?? 0) active")
            print("subjects  \(stats.subjects)")
            print("tokens    \(stats.tokens)")
            print(
                "audit     \(stats.auditRecords) records, last sealed at \(report.lastSealedSeq); "
                    + (report.ok ? "chain intact" : "CHAIN BROKEN: \(report.problem!) (run `cvault audit verify`)")
            )
        }
    }
}

/// What weakens the protection of keys in a process that would hold them, for `serve` to log at start and
/// `status` to print: key memory that cannot be locked (so may reach swap), and a crash backtracer turned
/// back on by the operator.
func hardeningWarnings() -> [ProcessHardening.Warning] {
    var warnings: [ProcessHardening.Warning] = []
    if let memory = ProcessHardening.memoryLockWarning() { warnings.append(memory) }
    if let backtracer = ProcessHardening.backtracerWarning {
        warnings.append(
            ProcessHardening.Warning(
                message: backtracer,
                hint: "unset \(ProcessHardening.backtraceVariable) (cvault then turns the backtracer off) or set it to "
                    + "\(ProcessHardening.backtraceOff), except while debugging a crash"
            )
        )
    }
    return warnings
}
