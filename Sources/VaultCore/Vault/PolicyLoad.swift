/// The `policy_load` records: every load of a policy is recorded with the hash of the bytes in force
/// (`PolicyHolder.auditDetail`), at a server's start, on each reload and before each offline command, so the
/// audit log names the policy that decided every later record.
extension Vault {
    /// Records the policy in force as loaded on `occasion` ("at start", "for an offline command"), as `caller`
    /// when one is resolved.
    public func recordPolicyLoad(_ occasion: String, caller: Caller? = nil) async throws(VaultError) {
        try await audit(.policyLoad, caller: caller, detail: policies.auditDetail(occasion))
    }

    /// Re-reads the policy file (a server's SIGHUP) and records the outcome: the new hash, or `refused` with
    /// why, the policy in force then staying (`PolicyHolder.reload` logs the problems). A record that cannot be
    /// written does not undo the reload.
    public func reloadPolicy(_ occasion: String) async {
        switch policies.reload() {
        case .success: try? await recordPolicyLoad(occasion)
        case .failure(let error):
            try? await audit(.policyLoad, caller: nil, outcome: .refused, reason: error.message)
        }
    }
}
