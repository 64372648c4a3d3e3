import Foundation
import Testing
import VaultCore
import VaultTestSupport

@testable import VaultPostgres

/// The server role `leastPrivilegeSQL` makes: the store works through it (erase and its scrub included), and
/// the audit history cannot be changed through it; the start-up check tells it from a broader role.
@Suite(.serialized) struct LeastPrivilegeTests {
    @Test func aServerRoleMayAppendToTheAuditButNeverChangeIt() async throws {
        let role = "cvault_server_" + UUID().uuidString.prefix(8).lowercased()
        // Roles are the cluster's: dropped once the database (whose tables it owns) is gone.
        defer { _ = try? PostgresTestDatabase.runOnCluster("DROP ROLE IF EXISTS \(role)") }
        try await PostgresTestDatabase.with { database in
            let owner = try PostgresStore.create(try PostgresURL(database.uri))
            let broad = try await owner.privilegeWarnings()
            #expect(broad.contains { $0.contains("superuser") })
            #expect(broad.contains { $0.contains("may UPDATE table audit") })
            await owner.close()

            try database.run(PostgresStore.leastPrivilegeSQL(database: database.name, role: role))
            let store = try PostgresStore.open(try PostgresURL(database.uri(user: role)))
            do {
                #expect(try await store.privilegeWarnings() == [])
                let subject = try await addSubject(store, "cust-1")
                try await store.write { writer in
                    try writer.insertToken(makeToken(subjectID: subject.id, id: try writer.nextTokenID()))
                    try writer.appendAudit(
                        AuditRow(seq: 1, prev: [], hash: randomBytes(32), body: "{}", subjectRefs: [randomBytes(16)])
                    )
                }
                let (erased, scrubbed) = try await store.writeAndScrub { try $0.eraseSubject(named: "cust-1") }
                #expect(erased == 1 && scrubbed)
                await store.close()
            } catch {
                await store.close()
                throw error
            }
            for change in [
                "UPDATE audit SET body = 'rewritten'", "DELETE FROM audit", "TRUNCATE audit",
                "DELETE FROM audit_seals", "UPDATE audit_subjects SET seq = 2", "DROP TABLE audit",
                // The sealed keyring is only read by a server: it may neither replace nor remove it.
                "UPDATE keyring SET generation = generation + 1", "DELETE FROM keyring",
            ] {
                let refused = #expect(throws: PostgresTestError.self) { try database.run(change, as: role) }
                #expect(
                    refused?.description.contains("permission denied") == true
                        || refused?.description.contains("must be owner") == true,
                    "\(change)"
                )
            }
            #expect(try database.run("SELECT body FROM audit") == "{}")
        }
    }
}
