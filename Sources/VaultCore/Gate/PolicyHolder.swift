import Logging
import Synchronization

/// The policy in force and the file it comes from, shared by every connection and swapped whole on reload
/// (SIGHUP or `cvault policy reload`).
///
/// A reload that fails leaves the policy in force untouched: a typo in a new file must not lock every
/// service out, nor (worse) be half-applied. Until the first successful load the holder has
/// `Policy.denyAll`, so a server whose policy is missing or broken at start denies everything.
public final class PolicyHolder: Sendable {
    public let path: String
    private let logger: Logger
    private let state: Mutex<(policy: Policy, sha256: String?)>
    // Serialises reloads, so two at once (a SIGHUP and a command) cannot finish out of order and leave
    // the older file in force. Separate from `state` so readers never wait for file I/O.
    private let reloading = Mutex<Void>(())

    /// A holder for the policy at `path`, starting with `initial` (deny everything unless given another).
    /// Call `reload()` to load the file.
    public init(path: String, initial: Policy = .denyAll, logger: Logger) {
        self.path = path
        self.logger = logger
        self.state = Mutex((initial, nil))
    }

    /// The policy in force now. Take it once per request, so one request is decided by one policy.
    public var current: Policy {
        state.withLock { $0.policy }
    }

    /// Hex SHA-256 of the bytes the policy in force was parsed from (nil before the first load): the file
    /// is read once, and these bytes are both parsed and hashed, so the hash names exactly what is in force.
    public var sha256: String? {
        state.withLock { $0.sha256 }
    }

    /// What `policy_load` records: the hash of the bytes in force, and where they came from.
    public func auditDetail(_ occasion: String) -> String {
        "sha256 \(sha256 ?? "none") of \(path), \(occasion)"
    }

    /// Reads and checks the file; on success it is in force from now on and returned. On failure the
    /// policy in force stays, the error (listing every problem with its line) is logged and returned.
    @discardableResult
    public func reload() -> Result<Policy, VaultError> {
        reloading.withLock { _ in
            let result: Result<(policy: Policy, sha256: String), VaultError>
            do throws(VaultError) {
                result = .success(try Policy.loadHashed(path: path))
            } catch {
                result = .failure(error)
            }
            switch result {
            case .success(let (policy, sha256)):
                state.withLock { $0 = (policy, sha256) }
                logger.info(
                    "policy loaded",
                    metadata: [
                        "policy.path": "\(path)",
                        "policy.sha256": "\(sha256)",
                        "policy.identities": "\(policy.identities.count)",
                        "policy.roles": "\(policy.roles.count)",
                    ]
                )
            case .failure(let error):
                logger.error(
                    "policy refused; the previous policy stays in force",
                    metadata: [
                        "policy.path": "\(path)",
                        "error.code": "\(error.code.rawValue)",
                        "error.message": "\(error.message)",
                    ]
                )
            }
            return result.map(\.policy)
        }
    }
}
