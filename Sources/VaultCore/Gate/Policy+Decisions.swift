/// The decisions the gate asks for. Each starts from "denied" and only a rule naming the identity's role,
/// the kind and (for detokenize) the purpose turns it into "allowed".
extension Policy {
    /// May `identity` tokenize values of `kind`?
    public func tokenizeDecision(identity: Identity, kind: Kind) -> PolicyDecision {
        guard let member = member(identity) else { return .denied(notInPolicy(identity)) }
        for role in roles(of: member) where role.tokenize.contains(kind) {
            return .allowed(by: PolicyDecision.Rule(path: "roles.\(role.name).tokenize", line: role.tokenizeLine))
        }
        return .denied("no rule grants tokenize of \(kind.rawValue) to identity \(member.name) \(rolesNote(member))")
    }

    /// May `identity` erase a subject (all its values and tokens)?
    public func eraseDecision(identity: Identity) -> PolicyDecision {
        permissionDecision(identity: identity, "erase", granted: \.erase, line: \.eraseLine)
    }

    /// May `identity` record a subject's consent grants and withdrawals (`consent.grant`, `consent.withdraw`)?
    public func consentDecision(identity: Identity) -> PolicyDecision {
        permissionDecision(identity: identity, "consent", granted: \.consent, line: \.consentLine)
    }

    /// May `identity` restrict or unrestrict a subject?
    public func restrictDecision(identity: Identity) -> PolicyDecision {
        permissionDecision(identity: identity, "restrict", granted: \.restrict, line: \.restrictLine)
    }

    /// May `identity` produce a subject's access report?
    public func reportDecision(identity: Identity) -> PolicyDecision {
        permissionDecision(identity: identity, "report", granted: \.report, line: \.reportLine)
    }

    /// May `identity` turn tokens of `kind` back into values for `purpose`, and shown how?
    ///
    /// When several rules (of one role or of several) grant, the most revealing wins, plain over masked;
    /// among equals the first in the identity's role order, then file order, is named. The token's own
    /// limits (purposes, expiry, reveal count) are checked by the gate on top of this and can only narrow it.
    public func detokenizeDecision(identity: Identity, kind: Kind, purpose: Purpose) -> PolicyDecision {
        guard let member = member(identity) else { return .denied(notInPolicy(identity)) }
        guard let best = detokenizeGrants(member, kind: kind, purpose: purpose).first else {
            return .denied(
                "no rule grants detokenize of \(kind.rawValue) for purpose \(purpose) "
                    + "to identity \(member.name) \(rolesNote(member))"
            )
        }
        return .allowed(by: best.rule, reveal: best.reveal)
    }

    /// The limits that apply to `identity`: for several roles, the most generous of each figure (as the
    /// identity also gets the union of their grants). Defaults for an identity with no roles or not in
    /// this policy, which is denied everything anyway.
    public func limits(for identity: Identity) -> RoleLimits {
        guard let member = member(identity) else { return .defaults }
        let limits = roles(of: member).map(\.limits)
        guard let first = limits.first else { return .defaults }
        return limits.dropFirst().reduce(first) { $0.mostGenerous($1) }
    }

    // MARK: - Helpers

    /// A yes/no role permission (`erase: true` and the like): allowed by the first of the identity's roles
    /// that grants it, named `roles.NAME.KEY` at the key's line; denied when none does.
    private func permissionDecision(
        identity: Identity,
        _ key: String,
        granted: KeyPath<Role, Bool>,
        line: KeyPath<Role, Int>
    ) -> PolicyDecision {
        guard let member = member(identity) else { return .denied(notInPolicy(identity)) }
        for role in roles(of: member) where role[keyPath: granted] {
            return .allowed(by: PolicyDecision.Rule(path: "roles.\(role.name).\(key)", line: role[keyPath: line]))
        }
        return .denied("no rule grants \(key) to identity \(member.name) \(rolesNote(member))")
    }

    /// A grant found for a detokenize request.
    struct Grant {
        let role: Role
        let rule: PolicyDecision.Rule
        let reveal: RevealMode
    }

    /// Every rule granting this detokenize, the winner first: most revealing, then role order, then
    /// file order (a stable sort keeps the latter two).
    func detokenizeGrants(_ member: Identity, kind: Kind, purpose: Purpose) -> [Grant] {
        var grants: [Grant] = []
        for role in roles(of: member) {
            for rule in role.detokenize where rule.kinds.contains(kind) && rule.purposes.contains(purpose) {
                let path = PolicyDecision.Rule(path: "roles.\(role.name).detokenize[\(rule.index)]", line: rule.line)
                grants.append(Grant(role: role, rule: path, reveal: rule.reveal))
            }
        }
        let order = grants.enumerated().sorted {
            ($0.element.reveal, $1.offset) > ($1.element.reveal, $0.offset)
        }
        return order.map(\.element)
    }

    /// This policy's own record of `identity`. Decisions use it rather than the value passed in, so an
    /// `Identity` kept from an earlier policy (before a reload) gets this policy's roles, or nothing if it
    /// was removed or its uid changed.
    func member(_ identity: Identity) -> Identity? {
        guard let own = self.identity(named: identity.name), own.uid == identity.uid else { return nil }
        return own
    }

    /// The identity's roles, in its order. Every name resolves in a checked policy.
    func roles(of identity: Identity) -> [Role] {
        identity.roles.compactMap { roles[$0] }
    }

    func rolesNote(_ identity: Identity) -> String {
        identity.roles.isEmpty ? "(it has no roles)" : "(roles: \(identity.roles.joined(separator: ", ")))"
    }

    func notInPolicy(_ identity: Identity) -> String {
        "identity \(PolicyParser.quote(identity.name)) with uid \(identity.uid) is not in the current policy"
    }
}
