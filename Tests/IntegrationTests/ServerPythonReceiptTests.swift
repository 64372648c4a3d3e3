import Foundation
import Testing

extension ServerSharedSuite {
    /// Tools/cvault_client.py's `erase --receipt FILE`: the receipt it writes is the server's, byte for byte, so
    /// `cvault statement verify` accepts it, and it never overwrites a file.
    @Suite struct ServerPythonReceiptTests {
        let server: ServerHarness
        init() throws { server = try SharedServer.get() }

        @Test func theReceiptItWritesVerifies() async throws {
            let made = try server.python(["tokenize", "--kind", "text", "--subject", "py-receipt", "first", "second"])
            #expect(made.status == 0, "tokenize failed: \(made.stderr)")
            let path = server.dir + "/py-receipt-\(randomHex(4)).json"
            defer { unlink(path) }
            let erased = try server.python(["erase", "--subject", "py-receipt", "--receipt", path])
            #expect(erased.status == 0 && erased.stdout == "2\n", "erase: \(erased.stderr)")
            let verify = try await CVaultProcess.run(["statement", "verify", path], environment: [:])
            #expect(verify.status == 0, "\(verify.stderr)")
            #expect(verify.lines.first?.hasPrefix("statement intact: erasure receipt") == true)

            let again = try server.python(["erase", "--subject", "py-receipt", "--receipt", path])
            #expect(again.status == 1 && again.stderr.contains("already exists; nothing was erased"))
            #expect(try await CVaultProcess.run(["statement", "verify", path], environment: [:]).status == 0)
        }
    }
}
