import Foundation
import Logging
import Synchronization
import VaultTestSupport

@testable import VaultCore

/// Shared fixtures for the policy tests.
enum PolicyFixtures {
    /// The example of docs/POLICY.md, exactly as written there, comments included.
    static let example = PolicyExamples.complete

    /// Four roles and five identities, one of them (`lead`) with two roles whose grants overlap.
    static let matrix = """
        kinds:
          email: deterministic
          card: format-preserving
        identities:
          - name: checkout
            uid: 1001
            roles: [payments]
          - name: helpdesk
            uid: 1002
            roles: [support]
          - name: fraud
            uid: 1003
            roles: [analyst]
          - name: lead
            uid: 1004
            roles: [support, analyst]
          - name: idle
            uid: 1005
            roles: [nothing]
        roles:
          payments:
            tokenize: [card, email, name]
            detokenize:
              - kinds: [card]
                purposes: [charge, refund]
                reveal: plain
              - kinds: [email]
                purposes: [receipt]
                reveal: masked
            erase: false
            limits: { max_batch: 256, reveals_per_minute: 600 }
          support:
            tokenize: []
            detokenize:
              - kinds: [email, phone, name]
                purposes: [support]
                reveal: masked
            erase: true
            limits: { reveals_per_minute: 60 }
          analyst:
            tokenize: [address]
            detokenize:
              - kinds: [email, card]
                purposes: [fraud-review]
                reveal: masked
              - kinds: [email]
                purposes: [support, fraud-review]
                reveal: plain
            limits:
              max_batch: 50
          nothing: {}

        """

    static func policy(_ yaml: String) throws -> Policy {
        try Policy.parse(yaml: yaml)
    }
}

/// A swift-log handler that keeps records in memory, so tests can assert on what was logged.
final class RecordingLogHandler: LogHandler, Sendable {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let store: Mutex<[Record]>
    init() { store = Mutex([]) }

    var records: [Record] { store.withLock { $0 } }

    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        let metadata = (event.metadata ?? [:]).mapValues { "\($0)" }
        store.withLock { $0.append(Record(level: event.level, message: "\(event.message)", metadata: metadata)) }
    }
}
