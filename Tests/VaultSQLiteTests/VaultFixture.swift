import Foundation
import VaultCore
import VaultTestSupport

@testable import VaultSQLite

extension TestStoreBackend {
    /// A real SQLite database, `vault.db` in the vault's data folder.
    static let sqlite = TestStoreBackend(
        create: { try SQLiteStore.create(at: $0 + "/vault.db") },
        open: { try SQLiteStore.open(at: $0 + "/vault.db") }
    )
}

extension TestVault {
    /// The SQLite database file.
    var databasePath: String { dataFolder + "/vault.db" }

    /// The store as the SQLite store it is, for tests that reach into it.
    func sqliteStore() throws -> SQLiteStore {
        guard let store = store as? SQLiteStore else { throw VaultError(.internal, "not a SQLite test vault") }
        return store
    }

    /// Runs SQL on the (closed) database with the sqlite3 command-line shell, as an attacker with file
    /// access would. Returns what it printed; throws if it fails.
    @discardableResult
    func sqlite(_ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = ["-bail", databasePath, sql]
        let errors = Pipe()
        let output = Pipe()
        process.standardError = errors
        process.standardOutput = output
        try launch(process)
        // Outputs are a few lines, far below a pipe's buffer, so reading after the exit cannot block it.
        process.waitUntilExit()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw VaultError(.internal, "sqlite3 failed (\(process.terminationStatus)): \(message)")
        }
        return printed.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
