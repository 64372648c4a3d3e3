import VaultCore

/// The policy the consent and restriction tests run under (docs/POLICY.md): `svc` (uid 2101) tokenizes
/// emails and names and sees them plain for `view`, `marketing` and `legal-hold`; `prefs` (2102) is a
/// preference centre (`consent: true`) and sees nothing; `newsletter` (2103) sees emails plain for
/// `marketing` and masked for `digest`; `dpo` (2104) may restrict and report; `nobody` (2105) has no role.
/// `marketing` and `digest` need consent; `legal-hold` is exempt from restriction. `consentRequired`
/// replaces the consent-required list (empty: the key is left out).
public func rightsYAML(consentRequired: [String] = ["marketing", "digest"]) -> String {
    """
    identities:
      - name: svc
        uid: 2101
        roles: [service]
      - name: prefs
        uid: 2102
        roles: [preferences]
      - name: newsletter
        uid: 2103
        roles: [marketing]
      - name: dpo
        uid: 2104
        roles: [dpo]
      - name: nobody
        uid: 2105
        roles: []
    roles:
      service:
        tokenize: [email, name]
        detokenize:
          - kinds: [email, name]
            purposes: [view, marketing, legal-hold]
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

/// The uids of `rightsYAML`.
public enum RightsUID {
    public static let service: UInt32 = 2101
    public static let preferences: UInt32 = 2102
    public static let newsletter: UInt32 = 2103
    public static let dpo: UInt32 = 2104
    public static let nobody: UInt32 = 2105
}
