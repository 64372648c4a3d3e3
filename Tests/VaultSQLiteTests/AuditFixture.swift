import Foundation
import Logging
import Synchronization
import Testing
import VaultTestSupport

@testable import VaultCore
@testable import VaultSQLite

/// A real vault on a real SQLite file: keyring (fast KDF), store, policy, and a hand-moved clock.
struct AuditVault {
    static let policyYAML = """
        kinds:
          email: deterministic
          card: format-preserving
          phone: format-preserving
        identities:
          - name: checkout
            uid: 1001
            roles: [payments]
          - name: helpdesk
            uid: 1002
            roles: [support]
        roles:
          payments:
            tokenize: [card, email, name, phone]
            detokenize:
              - kinds: [card]
                purposes: [charge]
                reveal: plain
              - kinds: [email, name, phone]
                purposes: [receipt]
                reveal: masked
            erase: false
          support:
            tokenize: []
            detokenize:
              - kinds: [email, phone, name]
                purposes: [support]
                reveal: masked
            erase: true

        """

    let folder: String
    let databasePath: String
    let keyring: Keyring
    let store: SQLiteStore
    let vault: Vault
    let clock: TestClock
    let checkout: Caller
    let helpdesk: Caller

    static func make(in folder: String) throws -> AuditVault {
        let keyring = try Keyring.create(
            at: folder + "/cvault.keyring",
            credential: .passphrase(passphrase()),
            kdf: .fastForTests,
            now: Date(timeIntervalSince1970: 1_790_000_000)
        )
        let databasePath = folder + "/vault.db"
        let store = try SQLiteStore.create(at: databasePath)
        let logger = Logger(label: "cvault.test.audit")
        let policies = PolicyHolder(
            path: folder + "/policy.yaml",
            initial: try Policy.parse(yaml: policyYAML),
            logger: logger
        )
        let clock = TestClock(1_790_000_000)
        let vault = Vault(keyring: keyring, store: store, policies: policies, clock: clock.vaultClock, logger: logger)
        return AuditVault(
            folder: folder,
            databasePath: databasePath,
            keyring: keyring,
            store: store,
            vault: vault,
            clock: clock,
            checkout: try vault.caller(uid: 1001),
            helpdesk: try vault.caller(uid: 1002)
        )
    }

    static func passphrase() -> SecureBytes { testPassphrase("audit test passphrase") }

    /// Ten records: four tokenizes, four detokenizes (granted plain, granted masked, denied, not found), an
    /// erase and a refused erase. Every call appends exactly one record.
    func writeTenRecords(group: Int) async throws {
        let subject = try Subject("cust-\(group)")
        let gone = try Subject("gone-\(group)")
        let card = try await vault.tokenize(
            TokenizeRequest(kind: .card, subject: subject, values: ["4111 1111 1111 1111"]),
            caller: checkout
        )
        let email = try await vault.tokenize(
            TokenizeRequest(kind: .email, subject: subject, values: ["person\(group)@example.com"]),
            caller: checkout
        )
        _ = try await vault.tokenize(
            TokenizeRequest(kind: .name, subject: subject, values: ["Ada Lovelace"]),
            caller: checkout
        )
        _ = try await vault.tokenize(
            TokenizeRequest(kind: .phone, subject: gone, values: ["+44 20 7946 0958"]),
            caller: checkout
        )
        _ = try await vault.detokenize(card, purpose: "charge", caller: checkout)
        _ = try await vault.detokenize(email, purpose: "support", caller: helpdesk)
        _ = try await vault.detokenize(card, purpose: "support", caller: helpdesk)
        _ = try await vault.detokenize(
            ["tok_" + Base62.encode(SecureRandom.bytes(16))],
            purpose: "charge",
            caller: checkout
        )
        _ = try await vault.erase(subject: gone, caller: helpdesk)
        await #expect(throws: VaultError.self) { _ = try await vault.erase(subject: subject, caller: checkout) }
    }

    /// The standard log: 30 records in three groups ten seconds apart, then a final seal. The first record of
    /// each group is sealed as it is written (the last seal is old enough), and `sealAudit` seals record 30:
    /// seals at 1, 11, 21 and 30.
    static func thirtyRecords(in folder: String) async throws -> AuditVault {
        let fixture = try make(in: folder)
        for group in 0..<3 {
            try await fixture.writeTenRecords(group: group)
            fixture.clock.advance(by: 10)
        }
        try await fixture.vault.sealAudit()
        return fixture
    }

    var publicKey: [UInt8] { keyring.auditPublicKey }

    func rows() async throws -> [AuditRow] {
        try await store.read { try $0.auditRows(from: 1, limit: 1_000) }
    }

    func seals() async throws -> [AuditSeal] {
        try await store.read { try $0.auditSeals() }
    }

    /// What `cvault audit head` exports: the last seal and the public key.
    func exportHead() async throws -> AuditHead {
        let seal = try #require(try await seals().last)
        return AuditHead(
            seq: seal.seq,
            hash: Hex.encode(seal.hash),
            signature: Hex.encode(seal.signature),
            publicKey: Hex.encode(publicKey)
        )
    }
}

/// Runs `/usr/bin/sqlite3` on the database, as an attacker with write access to the file would.
func tamper(_ databasePath: String, _ sql: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    process.arguments = ["-bail", databasePath, sql]
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try launch(process)
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "sqlite3 failed: \(message)", sourceLocation: sourceLocation)
    #expect(message.isEmpty, "sqlite3 said: \(message)", sourceLocation: sourceLocation)
}

/// SQL literals for tamper statements.
enum SQL {
    static func blob(_ bytes: [UInt8]) -> String { "X'" + Hex.encode(bytes) + "'" }
    static func text(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
}

/// Verifies the log in a store reopened from the file.
func verifyFile(_ databasePath: String, publicKey: [UInt8], head: AuditHead? = nil) async throws -> AuditReport {
    let store = try SQLiteStore.open(at: databasePath)
    do {
        let report = try await store.read { try AuditVerifier.verify(reader: $0, publicKey: publicKey, head: head) }
        await store.close()
        return report
    } catch {
        await store.close()
        throw error
    }
}

/// Whether `problem` names record `seq` (as "record 17 ..." or "records 17...20"), and no smaller record.
func names(_ problem: String?, firstBad seq: Int64) -> Bool {
    guard let problem else { return false }
    let numbers = problem.matches(of: /records? (\d+)/).compactMap { Int64($0.output.1) }
    return numbers.first == seq
}
