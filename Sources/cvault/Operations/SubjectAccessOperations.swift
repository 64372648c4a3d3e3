import VaultClient
import VaultCore
import VaultJSON

/// What `cvault subject report` and `cvault subject export` ask of a vault, on either side (`LocalVault`,
/// `RemoteVault`): the report as the signed statement (checked on arrival from a server, so a command never
/// writes out a file that would not verify), the export as the protocol's JSON (§6.13), which the local side
/// builds with the same code the server answers with, so both sides print the same. `VaultOperations` refines it,
/// so both adapters conform where they are declared; their methods are here.
protocol SubjectAccessOperations: Sendable {
    func report(subject: Subject) async throws -> Statement
    func export(subject: Subject, purpose: Purpose) async throws -> JSONValue
}

extension LocalVault {
    func report(subject: Subject) async throws -> Statement {
        let session = try await open()
        let statement = try await session.vault.report(subject: subject, caller: session.caller)
        try await session.finish()
        return statement
    }

    func export(subject: Subject, purpose: Purpose) async throws -> JSONValue {
        let session = try await open()
        let export = try await session.vault.export(subject: subject, purpose: purpose, caller: session.caller)
        try await session.finish()
        return export.json
    }
}

extension RemoteVault {
    func report(subject: Subject) async throws -> Statement {
        let file = try await withClient { try await $0.subjectReport(subject: subject.name) }
        // Signed by the key it names and untouched; whether that key is the vault's is for the reader to
        // compare (`cvault statement verify --public-key`).
        return try Statement.verify(fileBytes: file)
    }

    func export(subject: Subject, purpose: Purpose) async throws -> JSONValue {
        try await withClient { client in
            try await client.call(
                method: "subject.export",
                params: ["subject": .string(subject.name), "purpose": .string(purpose.name)]
            )
        }
    }
}
