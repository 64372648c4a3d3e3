/// Retention (storage limitation): the policy keeps a kind's tokens for `retention:` seconds from their
/// creation (`Policy.retention(for:)`); a kind without one is kept until erased. The rule is here, once, for
/// the two places that apply it: the gate answers `not_found` for a token past its retention at once
/// (`Gate.judge`), and the purge removes the rows later (`Vault.purgeExpired`), by the same cutoff, so nothing
/// the purge keeps is hidden and nothing the gate hides is kept longer than one purge interval
/// (docs/DESIGN.md, "Retention").
public enum Retention {
    /// The earliest creation time still inside a retention of `seconds` at `now`: a token created before it is
    /// past its retention, that is `createdAt + seconds <= now`. Saturating, so no stored time and no policy
    /// value can overflow.
    static func cutoff(retention seconds: Int64, now: Int64) -> Int64 {
        let (start, overflow) = now.subtractingReportingOverflow(seconds)
        if overflow { return seconds > 0 ? .min : .max }
        return start == .max ? .max : start + 1
    }

    /// The first second at which a token created at `createdAt` is past a retention of `seconds`
    /// (`createdAt + seconds`, saturating): what a customer's report says it is kept until.
    static func end(createdAt: Int64, retention seconds: Int64) -> Int64 {
        let (end, overflow) = createdAt.addingReportingOverflow(seconds)
        return overflow ? (seconds > 0 ? .max : .min) : end
    }

    /// Whether a token created at `createdAt` is past a retention of `seconds` at `now`.
    static func isPast(createdAt: Int64, retention seconds: Int64, now: Int64) -> Bool {
        createdAt < cutoff(retention: seconds, now: now)
    }
}

/// One purge pass's view of retention: for each kind the policy keeps for a limited time, its cutoff at the
/// moment the pass began. Taken once, so a pass ends (tokens that pass their retention meanwhile wait for the
/// next one) and every batch of it, and a dry run, judges by one policy and one time.
public struct RetentionPass: Sendable, Equatable {
    /// One kind's cutoff: its tokens created before `before` (Unix seconds) are past its retention.
    public struct Cutoff: Sendable, Equatable {
        public let kind: Kind
        public let before: Int64
    }

    /// In `Kind`'s order.
    public let cutoffs: [Cutoff]
    /// Unix seconds: when the pass began.
    public let at: Int64

    public init(policy: Policy, now: Int64) {
        cutoffs = Kind.allCases.compactMap { kind in
            policy.retention(for: kind).map { Cutoff(kind: kind, before: Retention.cutoff(retention: $0, now: now)) }
        }
        at = now
    }

    /// True when the policy sets no retention: there is nothing to purge.
    public var isEmpty: Bool { cutoffs.isEmpty }

    /// What the pass would remove, per kind with a retention (zero counts included): a range count of the
    /// store's index per kind, changing nothing (`cvault purge --dry-run`). Data keys are not counted: whether
    /// a subject is left with no token is decided as the rows go.
    public func due(in reader: any StoreReader) throws -> [Kind: Int] {
        var due: [Kind: Int] = [:]
        for cutoff in cutoffs {
            due[cutoff.kind] = try reader.countTokens(kind: cutoff.kind, createdBefore: cutoff.before)
        }
        return due
    }
}
