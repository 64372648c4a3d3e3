import VaultCore

/// What the data commands (`tokenize`, `detokenize`, `erase`, and the customer's choices: `RightsOperations`) ask of a vault, whichever side does the work:
/// the vault's files opened by this process (`LocalVault`) or a running `cvault serve` over its socket
/// (`RemoteVault`). A command parses its options into these requests, picks the side once
/// (`SocketOption.operations`), makes one call and prints the answer, so both sides print the same.
///
/// Requests are the domain's validated types, parsed once at the edge; answers are the CLI's own types, which
/// both adapters produce.
protocol VaultOperations: RightsOperations, SubjectAccessOperations {
    /// One token per value, in order; the batch is atomic.
    func tokenize(_ request: TokenizeRequest) async throws -> [String]

    /// One line per token, in order: the value, or why it was not revealed.
    func detokenize(_ tokens: [String], purpose: Purpose) async throws -> [RevealLine]

    /// How many tokens went with the subject's data key, and the erasure receipt.
    func erase(subject: Subject) async throws -> ErasedAnswer
}

/// An erase's answer as the CLI prints it: the count, and the receipt file's bytes as the vault issued them.
struct ErasedAnswer: Sendable, Equatable {
    var erased: Int
    /// Nil only from a server too old to issue receipts.
    var receipt: [UInt8]?
}

/// One detokenize answer as the CLI prints it: the words are the protocol's (`reveal` is a `RevealMode`,
/// `failure` a `RevealFailure` raw value), so the local and the socket paths cannot print differently.
enum RevealLine: Sendable, Equatable {
    case value(String, reveal: String)
    case refused(String)
}

extension SocketOption {
    /// The side the data commands use: the server on the socket when one is named, else the vault's files.
    func operations(
        _ location: VaultLocation,
        _ unseal: UnsealOptions,
        _ policy: PolicyOption
    ) -> any VaultOperations {
        if let path { return RemoteVault(socketPath: path) }
        return LocalVault(location: location, unseal: unseal, policy: policy)
    }
}
