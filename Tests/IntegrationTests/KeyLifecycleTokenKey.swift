import Foundation
import Testing

/// `cvault keys rotate-token-key`: deterministic tokens made before keep resolving, but an equal value
/// tokenized afterwards gets a different token. That is the documented cost (docs/OPERATIONS.md): joins on
/// deterministic tokens do not cross the rotation.
extension KeyLifecycleTests {
    func rotateTokenKey(_ vault: LargeVault) async throws {
        let socket = vault.socket
        let salt = vault.salt
        let email = "det-\(salt)@example.com"
        let before = try await onThread {
            try RPCConnection(socket: socket).tokenize(kind: "email", subject: "det-a-\(salt)", values: [email])[0]
        }
        let listing = try await vault.keys()
        let run = try await vault.cvault("keys", "rotate-token-key")
        #expect(run.status == 0, "rotate-token-key failed: \(run.errorLines)")
        if run.status == 0 { vault.record("key_rotate_token") }
        let next = listing.activeTokenKey + 1
        expectLines(run, ["token key v\(next) is active for new deterministic tokens"], "rotate-token-key")
        let after = try await vault.keys()
        #expect(after.activeTokenKey == next)
        #expect(after.tokenKeys.filter { $0.version != next }.allSatisfy { $0.state == "decrypt-only" })
        #expect(after.active == listing.active, "the KEK did not change")

        // The server re-reads the keyring once a second; until it has, the old key still makes the old
        // token. Ask (bounded) with a new subject each time until the token changes.
        let after2 = try await onThread { () throws -> (String, [String?]) in
            let connection = try RPCConnection(socket: socket)
            let deadline = ContinuousClock.now + .seconds(30)
            var attempt = 0
            while true {
                let token = try connection.tokenize(
                    kind: "email",
                    subject: "det-b-\(salt)-\(attempt)",
                    values: [email]
                )[0]
                if token != before || ContinuousClock.now > deadline {
                    return (token, try connection.detokenize([before, token]))
                }
                attempt += 1
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        let (newToken, revealed) = after2
        #expect(newToken != before, "the same value still gets the old token after rotate-token-key")
        let bothResolve = revealed.count == 2 && revealed.allSatisfy { $0 == email }
        #expect(bothResolve, "a deterministic token no longer resolves to its value")
        // The first subject, tokenizing the value again, now also holds the new token (and keeps the old one).
        let again = try await onThread {
            let connection = try RPCConnection(socket: socket)
            let token = try connection.tokenize(kind: "email", subject: "det-a-\(salt)", values: [email])[0]
            return (token, try connection.detokenize([before]))
        }
        #expect(again.0 == newToken)
        let oldStillResolves = again.1 == [email]
        #expect(oldStillResolves, "the token from before the rotation no longer resolves")
    }
}
