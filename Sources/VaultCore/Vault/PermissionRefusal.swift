extension Vault {
    /// A caller the policy does not allow `event`'s operation (erase, report): `event` is audited as `denied`
    /// (`denied by policy`), durably, and the error to throw is returned, saying `message` and `hint`.
    func refuse(_ event: AuditEvent, _ message: String, hint: String) async throws(VaultError) -> VaultError {
        var denied = event
        denied.outcome = .denied
        denied.reason = "denied by policy"
        try await appendAudit(denied)
        return VaultError(.denied, message, hint: hint)
    }
}
