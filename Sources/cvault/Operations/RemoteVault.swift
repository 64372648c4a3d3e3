import VaultClient
import VaultCore

/// `VaultOperations` through a running `cvault serve`: each call opens one connection to the socket, as this
/// process's uid (the server decides and audits as the socket peer), and closes it afterwards whatever happens.
struct RemoteVault: VaultOperations {
    let socketPath: String

    func tokenize(_ request: TokenizeRequest) async throws -> [String] {
        let limits = VaultClient.TokenLimits(
            purposes: request.limits.purposes?.map(\.name),
            expiresAt: request.limits.expiresAt,
            maxReveals: request.limits.maxReveals
        )
        return try await withClient { client in
            try await client.tokenize(
                kind: VaultClient.Kind(rawValue: request.kind.rawValue),
                subject: request.subject.name,
                values: request.values,
                limits: limits,
                idempotencyKey: request.idempotencyKey?.text,
                scope: request.scope.name
            )
        }
    }

    func detokenize(_ tokens: [String], purpose: Purpose) async throws -> [RevealLine] {
        let items = try await withClient { try await $0.detokenize(tokens: tokens, purpose: purpose.name) }
        return items.map { item in
            switch item {
            case .value(let value, let reveal): return .value(value, reveal: reveal)
            case .error(let failure): return .refused(failure)
            }
        }
    }

    func erase(subject: Subject) async throws -> Int {
        try await withClient { try await $0.erase(subject: subject.name) }
    }

    /// Runs `body` with a client of the server, then closes the connection whether `body` succeeded or not.
    func withClient<T>(_ body: (VaultClient) async throws -> T) async throws -> T {
        let client = VaultClient(socketPath: socketPath)
        let result: Result<T, any Error>
        do { result = .success(try await body(client)) } catch { result = .failure(error) }
        await client.close()
        return try result.get()
    }
}
