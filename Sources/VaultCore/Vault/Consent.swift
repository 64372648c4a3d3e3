/// Consent per purpose (docs/PRIVACY.md): a preference centre records the customer's grants and withdrawals,
/// and every reveal for a purpose in the policy's `consent_required` checks them (`DetokenizeCall`).
///
/// Each decision is one write transaction holding the consent rows and their audit record, so a withdrawal
/// that has answered is in force for every reveal that records after it, one already in flight included
/// (the reveal re-checks in its own write when told something changed since its read).
extension Vault {
    /// The most purposes one grant or withdrawal may name.
    public static let maxConsentPurposes = 64

    /// Records `subject`'s grant of `purposes`, from `source`, until `expiresAt` (Unix seconds; nil: until
    /// withdrawn). A subject the vault does not know yet is created without a data key: the choice may come
    /// before the data. A purpose the policy does not require consent for is recorded too, and named in
    /// `notRequired`.
    public func grantConsent(
        subject: Subject,
        purposes: [Purpose],
        source: ConsentSource,
        expiresAt: Int64? = nil,
        caller: Caller
    ) async throws(VaultError) -> ConsentGranted {
        let now = clock.now()
        let purposes = try Self.consentPurposes(purposes)
        if let expiresAt, expiresAt <= now {
            throw VaultError.invalidRequest(
                "a consent grant must expire in the future",
                hint: "leave out expires_at for a grant until withdrawn",
                field: .consentExpiresAt
            )
        }
        let policy = self.policy
        let granted = try await decide(
            .granted,
            purposes,
            of: subject,
            source: source,
            expiresAt: expiresAt,
            by: caller,
            at: now
        )
        return ConsentGranted(granted: granted, notRequired: granted.filter { !policy.needsConsent($0) })
    }

    /// Records `subject`'s withdrawal of `purposes` (or of every purpose: `.all`), from `source`. Returns the
    /// purposes withdrawn, in name order. For `.all` they are worked out inside the write, so a grant that
    /// committed just before is withdrawn too.
    public func withdrawConsent(
        subject: Subject,
        purposes: ConsentPurposes,
        source: ConsentSource,
        caller: Caller
    ) async throws(VaultError) -> [Purpose] {
        let now = clock.now()
        var named: [Purpose]?
        if case .listed(let names) = purposes { named = try Self.consentPurposes(names) }
        return try await decide(.withdrawn, named, of: subject, source: source, expiresAt: nil, by: caller, at: now)
    }

    /// Records one decision (`state`) of `subject` for `purposes` (nil: every purpose it ever decided on and
    /// every one the policy requires consent for, worked out inside the write), from `source`, audited as
    /// `consent_grant` or `consent_withdraw`; returns the purposes decided on, in name order.
    private func decide(
        _ state: ConsentRecord.State,
        _ purposes: [Purpose]?,
        of subject: Subject,
        source: ConsentSource,
        expiresAt: Int64?,
        by caller: Caller,
        at now: Int64
    ) async throws(VaultError) -> [Purpose] {
        let policy = self.policy
        return try await recordChoice(
            state == .granted ? .consentGrant : .consentWithdraw,
            about: subject,
            by: caller,
            at: now,
            decision: policy.consentDecision(identity: caller.identity),
            refusal: PermissionRefusal(what: "record consent", permission: "consent"),
            describe: { event in
                event.purposes = purposes?.map(\.name)
                event.detail =
                    "source \(source)" + (purposes == nil ? ", every purpose" : "")
                    + (expiresAt.map { ", expires \(VaultClock.iso8601($0))" } ?? "")
            },
            write: { writer, event in
                var decided = purposes ?? []
                if purposes == nil {
                    let known = try writer.subject(named: subject.name)
                    let earlier = try known.map { try writer.consents(subjectID: $0.id).map(\.purpose) } ?? []
                    decided = Set(earlier).union(policy.consentRequired).sorted()
                    event.purposes = decided.map(\.name)
                }
                try Self.record(state, decided, of: subject, at: now, source: source, expiresAt: expiresAt, in: writer)
                return decided
            }
        )
    }

    /// `subject`'s consent now: the state per purpose and the full history (empty for a subject the vault
    /// does not know). For an identity whose role may record consent (`consent: true`, a preference centre
    /// showing the customer their choices) or report on subjects (`report: true`). A read of the choices, not
    /// of any value: like `whoami` it writes no audit record (the subject's access report, which is audited,
    /// holds the same state).
    public func consentState(subject: Subject, caller: Caller) async throws(VaultError) -> ConsentState {
        let policy = self.policy
        let now = clock.now()
        guard
            policy.consentDecision(identity: caller.identity).isAllowed
                || policy.reportDecision(identity: caller.identity).isAllowed
        else {
            throw VaultError(
                .denied,
                "\(caller.identity.name) may not read consent",
                hint: "set `consent: true` or `report: true` on one of its roles in the policy"
            )
        }
        return try await read { reader in
            guard let known = try reader.subject(named: subject.name) else {
                return ConsentState(latest: [], history: [], policy: policy, now: now)
            }
            return ConsentState(
                latest: try reader.consents(subjectID: known.id),
                history: try reader.consentHistory(subjectID: known.id),
                policy: policy,
                now: now
            )
        }
    }

    // MARK: Helpers

    /// Records a decision (`state`, at `now`, from `source`) for each of `purposes`, as the subject's latest
    /// for it and in its history; creates the subject without a data key if the vault does not know it yet
    /// (nothing is created for no purpose).
    static func record(
        _ state: ConsentRecord.State,
        _ purposes: [Purpose],
        of subject: Subject,
        at now: Int64,
        source: ConsentSource,
        expiresAt: Int64?,
        in writer: any StoreWriter
    ) throws {
        guard !purposes.isEmpty else { return }
        let subjectID =
            try writer.subject(named: subject.name)?.id ?? writer.insertSubjectWithoutKey(name: subject.name)
        for purpose in purposes {
            try writer.recordConsent(
                ConsentRecord(
                    subjectID: subjectID,
                    purpose: purpose,
                    state: state,
                    at: now,
                    source: source.name,
                    expiresAt: expiresAt
                )
            )
        }
    }

    /// The purposes of a grant or withdrawal, each once, in name order: at least one, at most
    /// `maxConsentPurposes`.
    static func consentPurposes(_ purposes: [Purpose]) throws(VaultError) -> [Purpose] {
        let distinct = Set(purposes).sorted()
        guard !distinct.isEmpty else {
            throw VaultError.invalidRequest(
                "name at least one purpose",
                hint: "for example [\"marketing\"]; to withdraw every purpose send \"*\"",
                field: .purposes
            )
        }
        guard distinct.count <= maxConsentPurposes else {
            throw VaultError.invalidRequest(
                "at most \(maxConsentPurposes) purposes in one consent decision",
                hint: "split the decision, or withdraw every purpose with \"*\"",
                field: .purposes
            )
        }
        return distinct
    }
}
