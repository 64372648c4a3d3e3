import ArgumentParser
import Foundation
import VaultCore

struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Store values and print one token per value, in order.",
        discussion: """
            Give the values on standard input, one per line: `cvault tokenize --kind ssn --subject cust-42 < \
            values.txt`. Values given as arguments also work, with a warning, because every local user can read \
            a process's arguments (ps, /proc/PID/cmdline) and shells keep them in their history. The batch is \
            atomic: one invalid value stores nothing. With --socket (or CVAULT_SOCKET) the request goes to a running `cvault serve`; \
            otherwise the vault's files are opened directly.
            """
    )

    @OptionGroup var socket: SocketOption
    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions
    @OptionGroup var policy: PolicyOption

    @Option(help: "email, phone, card, ssn, name, address, date or text.") var kind: String
    @Option(help: "The data subject (your customer id, never personal data).") var subject: String
    @Option(help: "Scope for deterministic tokens.") var scope: String = "default"
    @Option(help: ArgumentHelp("Only these purposes may ever reveal the tokens (comma-separated).", valueName: "list"))
    var purposes: String?
    @Option(help: ArgumentHelp("The tokens expire at this ISO 8601 time.", valueName: "time")) var expiresAt: String?
    @Option(help: ArgumentHelp("The most reveals each token allows.", valueName: "n")) var maxReveals: Int?
    @Option(
        help: ArgumentHelp(
            "Socket mode only: an idempotency key, so a retried call stores nothing twice.",
            valueName: "key"
        )
    )
    var idempotencyKey: String?
    @Argument(help: "Values; prefer standard input (one per line), since arguments are visible to other users.")
    var values: [String] = []

    static let argumentsWarning =
        "cvault: warning: values given as arguments are visible to every local user "
        + "(ps, /proc/PID/cmdline); give them on standard input instead, one per line"

    func validate() throws {
        if idempotencyKey != nil && socket.path == nil {
            throw ValidationError("--idempotency-key needs socket mode (--socket or CVAULT_SOCKET)")
        }
    }

    func run() async throws {
        if !values.isEmpty {
            // One line, and not a `cvault: hint:` one: hints belong to the error that follows, if any.
            FileHandle.standardError.write(Self.argumentsWarning + "\n")
        }
        try await reporting {
            // Parsed once, here, for both paths, options first and standard input last: a bad option fails
            // before anything waits for input, and the socket gets only what the vault's own types accept.
            var request = TokenizeRequest(
                kind: try parseKind(kind),
                subject: try Subject(subject),
                values: [],
                limits: try parseLimits(purposes: purposes, expiresAt: expiresAt, maxReveals: maxReveals),
                idempotencyKey: try idempotencyKey.map { (text) throws(VaultError) in try IdempotencyKey(text) },
                scope: try Scope(scope)
            )
            request.values = argumentsOrStdin(values)
            let tokens = try await socket.operations(location, unseal, policy).tokenize(request)
            for token in tokens { print(token) }
        }
    }
}

func parseKind(_ text: String) throws(VaultError) -> Kind {
    guard let kind = Kind(rawValue: text) else {
        throw VaultError(
            .invalidRequest,
            "unknown kind \"\(text)\"",
            hint: "use one of: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))"
        )
    }
    return kind
}

/// A comma-separated list of purposes (`--purposes charge,refund`), spaces around each name ignored.
func parsePurposes(_ list: String) throws(VaultError) -> [Purpose] {
    try list.split(separator: ",").map { (name) throws(VaultError) in
        try Purpose(String(name).trimmingCharacters(in: .whitespaces))
    }
}

func parseLimits(purposes: String?, expiresAt: String?, maxReveals: Int?) throws(VaultError) -> TokenLimits {
    var limits = TokenLimits()
    limits.purposes = try purposes.map { (list) throws(VaultError) in try parsePurposes(list) }
    limits.expiresAt = try expiresAt.map { (text) throws(VaultError) in try parseTime(text, flag: "--expires-at") }
    limits.maxReveals = maxReveals
    return limits
}

/// An ISO 8601 time given to `flag`, in Unix seconds.
func parseTime(_ text: String, flag: String) throws(VaultError) -> Int64 {
    guard let seconds = VaultClock.parseISO8601(text) else {
        throw VaultError(.invalidRequest, "\(flag) is not an ISO 8601 time", hint: "write it like 2027-01-01T00:00:00Z")
    }
    return seconds
}
