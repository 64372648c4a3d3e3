import VaultCore

/// Policies that several test targets hold the code to.
public enum PolicyExamples {
    /// The example of docs/POLICY.md ("A complete example"), exactly as written there, comments included.
    public static let complete = """
        kinds:                       # token type per kind; kinds not listed keep their default
          email: deterministic
          card: format-preserving
        identities:
          - name: checkout
            uid: 1001                # the socket peer's uid
            roles: [payments]
          - name: helpdesk
            uid: 1002
            roles: [support]
          - name: newsletter
            uid: 1003
            roles: [marketing]
          - name: prefcentre
            uid: 1004
            roles: [preferences]
        roles:
          payments:
            tokenize: [card, email, name]
            detokenize:
              - kinds: [card]
                purposes: [charge, refund]
                reveal: plain        # plain | masked
              - kinds: [email]
                purposes: [receipt]
                reveal: masked
            erase: false
          support:
            tokenize: []
            detokenize:
              - kinds: [email, phone, name]
                purposes: [support]
                reveal: masked
              - kinds: [email, name, card]
                purposes: [legal-hold]
                reveal: plain
            erase: true
            restrict: true
            report: true
          marketing:
            detokenize:
              - kinds: [email]
                purposes: [marketing]
                reveal: plain
          preferences:
            consent: true
        consent_required: [marketing]      # revealed only for customers who consented
        restriction_exempt: [legal-hold]   # still revealed while a customer is restricted
        retention: {email: 730d, card: 400d, text: 90d}

        """
}

public let allKindNames = Kind.allCases.map(\.rawValue).joined(separator: ", ")

/// One identity (uid 2001, `svc`) that may tokenize every kind, see every kind plain for `view` and masked
/// for `glance`, and erase; `reader` (uid 2002) may only detokenize plain for `view`; `nobody` (uid 2003)
/// has no role. `kinds` sets token modes; `limits` (indented four spaces) is added to `service`.
public func serviceYAML(kinds: [Kind: TokenMode] = [:], limits: String = "") -> String {
    let kindLines =
        kinds.isEmpty
        ? "kinds: {}"
        : "kinds:\n"
            + kinds.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "  \($0.key.rawValue): \($0.value.rawValue)" }.joined(separator: "\n")
    return """
        \(kindLines)
        identities:
          - name: svc
            uid: 2001
            roles: [service]
          - name: reader
            uid: 2002
            roles: [reader]
          - name: nobody
            uid: 2003
            roles: []
        roles:
          service:
            tokenize: [\(allKindNames)]
            detokenize:
              - kinds: [\(allKindNames)]
                purposes: [view, charge, refund]
                reveal: plain
              - kinds: [\(allKindNames)]
                purposes: [glance]
                reveal: masked
            erase: true
        \(limits)
          reader:
            detokenize:
              - kinds: [\(allKindNames)]
                purposes: [view]
                reveal: plain

        """
}

/// `serviceYAML` with every kind in `mode` where the kind supports it.
public func serviceYAML(mode: TokenMode) -> String {
    var kinds: [Kind: TokenMode] = [:]
    for kind in Kind.allCases where kind.supports(mode) { kinds[kind] = mode }
    return serviceYAML(kinds: kinds)
}

public enum UID {
    public static let service: UInt32 = 2001
    public static let reader: UInt32 = 2002
    public static let nobody: UInt32 = 2003
}
