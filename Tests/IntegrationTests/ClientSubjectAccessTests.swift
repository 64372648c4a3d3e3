import Foundation
import Testing
import VaultClient

/// VaultClient's `subjectExport` and `subjectReport` against a real `cvault serve`: the export's items as the
/// gate decided them (plain values, `denied` where the purpose is granted only masked), and a report refused
/// to a caller without `report: true`.
@Suite(.serialized)
struct ClientSubjectAccessTests {
    @Test func anExportComesBackPerTokenAndAReportNeedsThePermission() async throws {
        try await withServer { _, client in
            _ = try await client.tokenize(kind: .email, subject: "cust-1", values: ["ada@example.com"])
            _ = try await client.tokenize(kind: .card, subject: "cust-1", values: ["4111 1111 1111 1111"])
            let export = try await client.subjectExport(subject: "cust-1", purpose: "demo")
            #expect(export.subject == "cust-1" && export.purpose == "demo")
            #expect(export.items.map(\.kind) == [.email, .card])
            #expect(export.items.map(\.tokenType) == ["opaque", "format-preserving"])
            #expect(
                export.items.map(\.answer) == [
                    .value("ada@example.com", reveal: "plain"), .value("4111111111111111", reveal: "plain"),
                ]
            )
            #expect(export.items.allSatisfy { $0.reference.hasPrefix("row:") && $0.reference.count == 36 })
            // `support` shows emails and cards only masked: an export hands out no masks.
            let masked = try await client.subjectExport(subject: "cust-1", purpose: "support")
            #expect(masked.items.map(\.answer) == [.error("denied"), .error("denied")])
            let unknown = try await client.subjectExport(subject: "cust-none", purpose: "demo")
            #expect(unknown.items.isEmpty)

            let refused = await serverError { try await client.subjectReport(subject: "cust-1") }
            #expect(refused?.code == -32002)
        }
    }
}
