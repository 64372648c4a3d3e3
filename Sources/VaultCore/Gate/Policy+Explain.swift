/// `cvault policy explain`: what the policy decides for one identity, kind and purpose, and which lines of
/// the file decide it.
extension Policy {
    /// A few lines for people: who the identity is, the detokenize decision with its rule (and any other
    /// rules that also grant), then tokenize, erase and the limits that apply.
    public func explain(identityName: String, kind: Kind, purpose: Purpose) -> String {
        guard let identity = identity(named: identityName) else {
            let known = identities.map(\.name)
            let list = known.isEmpty ? "the policy has no identities" : "identities: \(known.joined(separator: ", "))"
            return """
                identity \(PolicyParser.quote(identityName)): not in the policy (\(list))
                detokenize \(kind.rawValue) for purpose \(PolicyParser.quote(purpose.name)): denied (unknown identity)
                tokenize \(kind.rawValue): denied (unknown identity)
                erase: denied (unknown identity)
                """
        }

        var lines = ["identity \(identity.name): uid \(identity.uid), line \(identity.line), \(rolesList(identity))"]

        let detokenize = detokenizeDecision(identity: identity, kind: kind, purpose: purpose)
        lines.append(
            "detokenize \(kind.rawValue) for purpose \(PolicyParser.quote(purpose.name)): "
                + (detokenize.reveal.map { "allowed, reveals \($0.rawValue)" } ?? "denied")
        )
        if let rule = detokenize.rule {
            lines.append("  granted by \(rule)")
            let others = detokenizeGrants(identity, kind: kind, purpose: purpose).dropFirst()
            for other in others {
                lines.append("  also granted by \(other.rule), reveal \(other.reveal.rawValue)")
            }
            if !others.isEmpty {
                lines.append("  the most revealing grant wins (plain over masked)")
            }
        } else {
            lines.append("  \(detokenize.reason)")
        }
        // Consent and restriction are per subject, so the vault decides them at reveal time; say they apply.
        if needsConsent(purpose) {
            lines.append("  and the subject must hold a current consent grant for \(purpose) (consent_required)")
        }
        if isRestrictionExempt(purpose) {
            lines.append("  and is allowed for a restricted subject too (restriction_exempt)")
        }

        let tokenize = tokenizeDecision(identity: identity, kind: kind)
        lines.append("tokenize \(kind.rawValue): " + verdict(tokenize))
        lines.append("erase: " + verdict(eraseDecision(identity: identity)))
        lines.append(
            "tokens as \(tokenMode(for: kind).rawValue)"
                + (kinds[kind] == nil
                    ? " (the default for kinds not listed under kinds:)" : " (kinds.\(kind.rawValue))")
        )

        let limits = limits(for: identity)
        let explicit = roles(of: identity).contains { $0.limitsLine != 0 }
        lines.append("limits: \(limits)" + (explicit ? "" : " (defaults)"))
        lines.append("tokens may carry their own purposes, expiry and reveal count, which narrow this further")
        return lines.joined(separator: "\n")
    }

    private func verdict(_ decision: PolicyDecision) -> String {
        decision.rule.map { "allowed by \($0)" } ?? "denied: \(decision.reason)"
    }

    private func rolesList(_ identity: Identity) -> String {
        identity.roles.isEmpty ? "no roles" : "roles: \(identity.roles.joined(separator: ", "))"
    }
}
