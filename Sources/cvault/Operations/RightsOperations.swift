import VaultClient
import VaultCore

/// What the consent and restriction commands (`cvault consent`, `cvault subject restrict|unrestrict`) ask of
/// a vault, on either side (`LocalVault`, `RemoteVault`). Requests are the domain's validated types; answers
/// are the client's models of the protocol's answers (docs/PROTOCOL.md §6.7 to §6.11), which the local side
/// builds from the domain's, so both sides print the same.
protocol RightsOperations: Sendable {
    func grantConsent(_ grant: ConsentGrantRequest) async throws -> VaultClient.ConsentGranted
    func withdrawConsent(subject: Subject, purposes: ConsentPurposes, source: ConsentSource) async throws -> [String]
    func consentList(subject: Subject) async throws -> VaultClient.ConsentState
    func restrict(subject: Subject, reason: RestrictionReason) async throws -> VaultClient.Restriction
    /// Whether a restriction was in force.
    func unrestrict(subject: Subject) async throws -> Bool
}

/// A consent grant as `cvault consent grant` parsed it.
struct ConsentGrantRequest: Sendable {
    var subject: Subject
    var purposes: [Purpose]
    var source: ConsentSource
    /// Unix seconds; nil: until withdrawn.
    var expiresAt: Int64?
}

extension LocalVault {
    func grantConsent(_ grant: ConsentGrantRequest) async throws -> VaultClient.ConsentGranted {
        let granted = try await perform { vault, caller in
            try await vault.grantConsent(
                subject: grant.subject,
                purposes: grant.purposes,
                source: grant.source,
                expiresAt: grant.expiresAt,
                caller: caller
            )
        }
        return VaultClient.ConsentGranted(
            granted: granted.granted.map(\.name),
            notRequired: granted.notRequired.map(\.name)
        )
    }

    func withdrawConsent(subject: Subject, purposes: ConsentPurposes, source: ConsentSource) async throws -> [String] {
        try await perform { vault, caller in
            try await vault.withdrawConsent(subject: subject, purposes: purposes, source: source, caller: caller)
        }.map(\.name)
    }

    func consentList(subject: Subject) async throws -> VaultClient.ConsentState {
        let state = try await perform { vault, caller in try await vault.consentState(subject: subject, caller: caller)
        }
        let time = VaultClock.iso8601
        return VaultClient.ConsentState(
            current: state.current.map { entry in
                .init(
                    purpose: entry.purpose.name,
                    state: entry.state.rawValue,
                    since: time(entry.since),
                    source: entry.source,
                    expiresAt: entry.expiresAt.map(time),
                    required: entry.required
                )
            },
            history: state.history.map { record in
                .init(
                    purpose: record.purpose.name,
                    state: record.state.rawValue,
                    at: time(record.at),
                    source: record.source,
                    expiresAt: record.expiresAt.map(time)
                )
            }
        )
    }

    func restrict(subject: Subject, reason: RestrictionReason) async throws -> VaultClient.Restriction {
        let held = try await perform { vault, caller in
            try await vault.restrict(subject: subject, reason: reason, caller: caller)
        }
        return VaultClient.Restriction(since: VaultClock.iso8601(held.since), reason: held.reason)
    }

    func unrestrict(subject: Subject) async throws -> Bool {
        try await perform { vault, caller in try await vault.unrestrict(subject: subject, caller: caller) }
    }

    /// One operation in its own session, which then seals the audit head and closes.
    private func perform<T>(_ body: (Vault, Caller) async throws -> T) async throws -> T {
        let session = try await open()
        let result = try await body(session.vault, session.caller)
        try await session.finish()
        return result
    }
}

extension RemoteVault {
    func grantConsent(_ grant: ConsentGrantRequest) async throws -> VaultClient.ConsentGranted {
        try await withClient { client in
            try await client.grantConsent(
                subject: grant.subject.name,
                purposes: grant.purposes.map(\.name),
                source: grant.source.name,
                expiresAt: grant.expiresAt
            )
        }
    }

    func withdrawConsent(subject: Subject, purposes: ConsentPurposes, source: ConsentSource) async throws -> [String] {
        let asked: VaultClient.WithdrawnPurposes
        switch purposes {
        case .all: asked = .all
        case .listed(let names): asked = .listed(names.map(\.name))
        }
        return try await withClient { client in
            try await client.withdrawConsent(subject: subject.name, purposes: asked, source: source.name)
        }
    }

    func consentList(subject: Subject) async throws -> VaultClient.ConsentState {
        try await withClient { try await $0.consentList(subject: subject.name) }
    }

    func restrict(subject: Subject, reason: RestrictionReason) async throws -> VaultClient.Restriction {
        try await withClient { try await $0.restrict(subject: subject.name, reason: reason.name) }
    }

    func unrestrict(subject: Subject) async throws -> Bool {
        try await withClient { try await $0.unrestrict(subject: subject.name) }
    }
}
