/// What `cvault verify` found.
public struct VerifyReport: Sendable, Equatable {
    public var subjects = 0
    public var tokens = 0
    /// Rows whose value or wrapped key fails authentication (at most 20 named, by subject id and kind).
    public var failures = 0
    public var examples: [String] = []
    public var audit = AuditReport()
    public var ok: Bool { failures == 0 && audit.ok }
}

extension Vault {
    /// Authenticates every stored row under the keyring (each subject's wrapped key and each value's
    /// ciphertext with its associated data), and verifies the audit chain. Nothing is revealed: each value is
    /// opened into a buffer that is wiped at once, and only pass or fail is kept.
    public func verifyAll(progress: @Sendable (Int) -> Void = { _ in }) async throws(VaultError) -> VerifyReport {
        let keyring = self.keyring
        var report = VerifyReport()
        var cursor: TokenCursor?
        var subjects = Set<Int64>()
        repeat {
            let from = cursor
            let page = try await read { try $0.allTokens(after: from, limit: 2_000) }
            var keys: [Int64: SecureBytes] = [:]
            for stored in page.tokens {
                subjects.insert(stored.subject.id)
                report.tokens += 1
                var ok = false
                if let dek = keys[stored.subject.id] ?? (try? VaultCipher.dataKey(of: stored.subject, keyring: keyring))
                {
                    keys[stored.subject.id] = dek
                    ok = VaultCipher.authenticates(stored, dek: dek)
                }
                if !ok {
                    report.failures += 1
                    if report.examples.count < 20 {
                        report.examples.append(
                            "subject \(stored.subject.name) (id \(stored.subject.id)), a \(stored.token.kind.rawValue) token"
                        )
                    }
                }
            }
            progress(report.tokens)
            cursor = page.next
        } while cursor != nil
        report.subjects = subjects.count
        let publicKey = keyring.auditPublicKey
        let anchor = try AuditAnchor.read(at: auditSealer.anchorPath)
        report.audit = try await read { try AuditVerifier.verify(reader: $0, publicKey: publicKey, anchor: anchor) }
        return report
    }
}
