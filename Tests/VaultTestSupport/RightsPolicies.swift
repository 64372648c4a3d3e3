@testable import VaultCore

/// The policy the consent and restriction tests run under (docs/POLICY.md), for the domain's tests
/// (`RightsUID`) and the server's (`rightsServerIdentities`). Roles: `service` tokenizes emails and names
/// and sees them plain for `view`, `marketing`, `digest` and `legal-hold`; `preferences` is a preference
/// centre (`consent: true`) and sees nothing; `marketing` sees emails plain for `marketing` and masked for
/// `digest`; `dpo` may restrict and report. `consentRequired` is the `consent_required:` list (empty: the
/// key is left out); `legal-hold` is exempt from restriction.
public func rightsYAML(
    consentRequired: [String] = ["marketing", "digest"],
    identities: [(name: String, uid: UInt32, roles: [String])] = rightsIdentities
) -> String {
    let members = identities.map { identity in
        "  - name: \(identity.name)\n    uid: \(identity.uid)\n    roles: [\(identity.roles.joined(separator: ", "))]"
    }
    return """
        identities:
        \(members.joined(separator: "\n"))
        roles:
          service:
            tokenize: [email, name]
            detokenize:
              - kinds: [email, name]
                purposes: [view, marketing, digest, legal-hold]
                reveal: plain
          preferences:
            consent: true
          marketing:
            detokenize:
              - kinds: [email]
                purposes: [marketing]
                reveal: plain
              - kinds: [email]
                purposes: [digest]
                reveal: masked
          dpo:
            restrict: true
            report: true
        \(consentRequired.isEmpty ? "" : "consent_required: [\(consentRequired.joined(separator: ", "))]")
        restriction_exempt: [legal-hold]

        """
}

/// The domain tests' identities: one per role, and `nobody` with none.
public let rightsIdentities: [(name: String, uid: UInt32, roles: [String])] = [
    ("svc", RightsUID.service, ["service"]), ("prefs", RightsUID.preferences, ["preferences"]),
    ("newsletter", RightsUID.newsletter, ["marketing"]), ("dpo", RightsUID.dpo, ["dpo"]),
    ("nobody", RightsUID.nobody, []),
]

/// The server tests' identities: uid 0 (`prefcentre`, the test process) with `operatorRoles`, uid 1003
/// `newsletter`, uid 1004 `preferences`, uid 1005 `dpo` (the other uids are reached through setpriv).
public func rightsServerIdentities(
    operatorRoles: [String] = ["service", "preferences"]
) -> [(name: String, uid: UInt32, roles: [String])] {
    [
        ("prefcentre", 0, operatorRoles), ("newsletter", 1003, ["marketing"]), ("preferences", 1004, ["preferences"]),
        ("dpo", 1005, ["dpo"]),
    ]
}

/// The uids of `rightsIdentities`.
public enum RightsUID {
    public static let service: UInt32 = 2101
    public static let preferences: UInt32 = 2102
    public static let newsletter: UInt32 = 2103
    public static let dpo: UInt32 = 2104
    public static let nobody: UInt32 = 2105
}

extension TestVault {
    /// `vault.grantConsent` of `purposes` for `subject` from `source`, as `caller`, without an end.
    @discardableResult
    public func grant(
        _ purposes: [Purpose],
        to subject: Subject,
        source: ConsentSource = "form",
        as caller: Caller
    ) async throws -> ConsentGranted {
        try await vault.grantConsent(subject: subject, purposes: purposes, source: source, caller: caller)
    }

    /// The audit records of `event`, decoded, in order.
    public func auditEvents(_ event: AuditEvent.Event) async throws -> [AuditEvent] {
        try await auditRows().compactMap { AuditEvent.decode($0.body) }.filter { $0.event == event }
    }
}
