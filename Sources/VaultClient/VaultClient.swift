import NIOCore
import NIOPosix
import Synchronization
// JSONValue appears in the API (an error's data): clients get it with `import VaultClient` alone.
@_exported import VaultJSON

#if canImport(Glibc)
import Glibc
#endif

/// A client of a running `cvault serve`, over its Unix socket (docs/PROTOCOL.md).
///
/// One connection per client, opened at the first call, reused by every call and opened again if the server
/// closed it. Calls may be made from any number of tasks at once: they are pipelined on the connection and
/// each gets its own answer. Identity is this process's uid, read by the server from the socket; nothing
/// else is sent to prove it.
///
/// Errors: a `VaultClientError` when the server answered with an error (act on its `code` and `data`), a
/// `VaultConnectionError` when no answer came.
///
///     let vault = VaultClient()                                   // $CVAULT_SOCKET, else ./cvault.sock
///     let tokens = try await vault.tokenize(kind: .email, subject: "cust-42", values: ["ada@example.com"])
///     let items = try await vault.detokenize(tokens: tokens, purpose: "receipt")
///     await vault.close()
public final class VaultClient: Sendable {
    /// The default socket when neither the initializer nor `CVAULT_SOCKET` names one.
    public static let defaultSocketPath = "./cvault.sock"

    /// The socket this client talks to.
    public var socketPath: String { connection.socketPath }

    private let connection: ClientConnection
    private let ids = Atomic<Int64>(0)

    /// - Parameters:
    ///   - socketPath: the server's socket; default `$CVAULT_SOCKET` if set and not empty, else `./cvault.sock`.
    ///   - timeout: how long a call waits for its answer before failing with `.timedOut` (the connection is
    ///     then dropped); nil waits forever.
    ///   - eventLoopGroup: where the connection's I/O runs; default SwiftNIO's shared group.
    ///   - maxResponseBytes: the longest response line accepted, a guard against a runaway peer.
    public init(
        socketPath: String? = nil,
        timeout: Duration? = .seconds(30),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maxResponseBytes: Int = 512 << 20
    ) {
        let path = socketPath ?? Self.environmentSocketPath ?? Self.defaultSocketPath
        connection = ClientConnection(
            socketPath: path,
            group: eventLoopGroup,
            // NIO's conversion truncates to nanoseconds and clamps, so no timeout a caller passes can trap.
            timeout: timeout.map { TimeAmount($0) },
            maxResponseBytes: maxResponseBytes
        )
    }

    /// `CVAULT_SOCKET`, if set and not empty.
    public static var environmentSocketPath: String? {
        guard let raw = getenv("CVAULT_SOCKET") else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }

    /// Closes the connection. Calls still waiting fail with `VaultConnectionError`; later calls fail with
    /// `.clientClosed`.
    public func close() async { await connection.close() }

    // MARK: Methods

    /// Stores `values` for `subject` and returns one token per value, in order. Atomic: one invalid value
    /// fails the call (`invalidParams` with `data.index`) and nothing is stored.
    ///
    /// Retry a `tokenize` whose answer was lost only with an `idempotencyKey`: the same key and request
    /// return the first call's tokens instead of storing the values twice.
    public func tokenize(
        kind: Kind,
        subject: String,
        values: [String],
        limits: TokenLimits? = nil,
        idempotencyKey: String? = nil,
        scope: String? = nil
    ) async throws -> [String] {
        var params = RequestParams()
        params.add("kind", string: kind.rawValue)
        params.add("subject", string: subject)
        params.add("values", strings: values)
        if let limits, !limits.isEmpty { params.add("limits", limits: limits) }
        if let idempotencyKey { params.add("idempotency_key", string: idempotencyKey) }
        if let scope { params.add("scope", string: scope) }
        let result = try await call(method: "tokenize", params: params)
        guard case .array(let items)? = result["tokens"] else { throw malformed("tokenize result has no tokens array") }
        var tokens: [String] = []
        tokens.reserveCapacity(items.count)
        for item in items {
            guard case .string(let token) = item else { throw malformed("a token is not a string") }
            tokens.append(token)
        }
        guard tokens.count == values.count else {
            throw malformed("tokenize returned \(tokens.count) tokens for \(values.count) values")
        }
        return tokens
    }

    /// What each token stands for, as far as this caller may see it for `purpose`: one item per token, in
    /// order. A token that is not revealed is an item with an error name, never a call error.
    public func detokenize(tokens: [String], purpose: String) async throws -> [DetokenizeItem] {
        var params = RequestParams()
        params.add("tokens", strings: tokens)
        params.add("purpose", string: purpose)
        let result = try await call(method: "detokenize", params: params)
        guard case .array(let raw)? = result["items"], raw.count == tokens.count else {
            throw malformed("detokenize result has no items array of one item per token")
        }
        var items: [DetokenizeItem] = []
        items.reserveCapacity(raw.count)
        for entry in raw {
            if case .string(let value)? = entry["value"], case .string(let reveal)? = entry["reveal"] {
                items.append(.value(value, reveal: reveal))
            } else if case .string(let error)? = entry["error"] {
                items.append(.error(error))
            } else {
                throw malformed("a detokenize item has neither a value nor an error")
            }
        }
        return items
    }

    /// Destroys every token of `subject` and its data key; returns how many tokens went (0 for an unknown
    /// or already-erased subject).
    public func erase(subject: String) async throws -> Int {
        var params = RequestParams()
        params.add("subject", string: subject)
        let result = try await call(method: "erase", params: params)
        guard case .int(let erased)? = result["erased"] else { throw malformed("erase result has no count") }
        return Int(erased)
    }

    // MARK: Consent and restriction (docs/PROTOCOL.md §6.7 to §6.11)

    /// Records `subject`'s consent to `purposes`, made at `source` (a short label such as `signup-form-v3`),
    /// until `expiresAt` (Unix seconds; nil: until withdrawn). Needs a role with `consent: true`.
    public func grantConsent(
        subject: String,
        purposes: [String],
        source: String,
        expiresAt: Int64? = nil
    ) async throws -> ConsentGranted {
        var params = RequestParams()
        params.add("subject", string: subject)
        params.add("purposes", strings: purposes)
        params.add("source", string: source)
        if let expiresAt { params.add("expires_at", string: TokenLimits.timestamp(expiresAt)) }
        let result = try await call(method: "consent.grant", params: params)
        let notRequired = result["not_required"] == nil ? [] : try strings(result, "not_required", of: "consent.grant")
        return ConsentGranted(granted: try strings(result, "granted", of: "consent.grant"), notRequired: notRequired)
    }

    /// Records `subject`'s withdrawal of `purposes` (`.all`: every purpose at once); returns the purposes
    /// withdrawn. Once this has returned, no reveal of the subject for them succeeds.
    public func withdrawConsent(subject: String, purposes: WithdrawnPurposes, source: String) async throws -> [String] {
        var params = RequestParams()
        params.add("subject", string: subject)
        switch purposes {
        case .all: params.add("purposes", string: "*")
        case .listed(let names): params.add("purposes", strings: names)
        }
        params.add("source", string: source)
        return try strings(
            try await call(method: "consent.withdraw", params: params),
            "withdrawn",
            of: "consent.withdraw"
        )
    }

    /// `subject`'s consent: the state per purpose and the full history. Needs `consent: true` or `report: true`.
    public func consentList(subject: String) async throws -> ConsentState {
        let result = try await call(method: "consent.list", params: .subject(subject))
        guard case .array(let current)? = result["current"], case .array(let history)? = result["history"] else {
            throw malformed("consent.list result lacks current or history")
        }
        var state = ConsentState(current: [], history: [])
        for entry in current {
            guard case .string(let purpose)? = entry["purpose"], case .string(let s)? = entry["state"],
                case .string(let since)? = entry["since"], case .string(let source)? = entry["source"],
                case .bool(let required)? = entry["required"]
            else { throw malformed("a consent.list state lacks a member") }
            state.current.append(
                .init(
                    purpose: purpose,
                    state: s,
                    since: since,
                    source: source,
                    expiresAt: entry["expires_at"]?.stringValue,
                    required: required
                )
            )
        }
        for entry in history {
            guard case .string(let purpose)? = entry["purpose"], case .string(let s)? = entry["state"],
                case .string(let at)? = entry["at"], case .string(let source)? = entry["source"]
            else { throw malformed("a consent.list decision lacks a member") }
            state.history.append(
                .init(purpose: purpose, state: s, at: at, source: source, expiresAt: entry["expires_at"]?.stringValue)
            )
        }
        return state
    }

    /// Restricts `subject`'s processing (GDPR Art. 18) for `reason` (a short label); returns the restriction
    /// in force. Needs `restrict: true`.
    public func restrict(subject: String, reason: String) async throws -> Restriction {
        var params = RequestParams()
        params.add("subject", string: subject)
        params.add("reason", string: reason)
        let result = try await call(method: "subject.restrict", params: params)
        guard case .string(let since)? = result["since"], case .string(let held)? = result["reason"] else {
            throw malformed("subject.restrict result lacks since or reason")
        }
        return Restriction(since: since, reason: held)
    }

    /// Lifts `subject`'s restriction; returns whether one was in force. Needs `restrict: true`.
    public func unrestrict(subject: String) async throws -> Bool {
        let result = try await call(method: "subject.unrestrict", params: .subject(subject))
        guard case .bool(let was)? = result["was_restricted"] else {
            throw malformed("subject.unrestrict result has no was_restricted")
        }
        return was
    }

    /// The array of strings `member` of `method`'s result; a malformed response if it is anything else.
    private func strings(_ result: JSONValue, _ member: String, of method: String) throws -> [String] {
        guard case .array(let items)? = result[member] else {
            throw malformed("\(method) result has no \(member) array")
        }
        let strings = items.compactMap(\.stringValue)
        guard strings.count == items.count else { throw malformed("\(method) result's \(member) are not all strings") }
        return strings
    }

    /// The identity and roles the server gave this process's uid.
    public func whoami() async throws -> Identity {
        let result = try await call(method: "whoami", params: RequestParams())
        guard case .string(let name)? = result["identity"], case .array(let raw)? = result["roles"] else {
            throw malformed("whoami result lacks identity or roles")
        }
        return Identity(name: name, roles: raw.compactMap(\.stringValue))
    }

    /// Whether the vault is unsealed, the server's version and the active key-encryption key.
    public func health() async throws -> Health {
        let result = try await call(method: "health", params: RequestParams())
        guard case .string(let status)? = result["status"], case .string(let version)? = result["version"] else {
            throw malformed("health result lacks status or version")
        }
        var audit: String?
        if case .string(let text)? = result["audit"] { audit = text }
        return Health(
            status: status,
            version: version,
            activeKEK: result["active_kek"]?.intValue.map(Int.init),
            audit: audit
        )
    }

    /// Any method, for what the typed methods do not cover: `params` is sent as given (nil sends none), and
    /// the `result` comes back as JSON.
    public func call(method: String, params: [String: JSONValue]?) async throws -> JSONValue {
        var encoded = RequestParams()
        if let params {
            for (key, value) in params.sorted(by: { $0.key < $1.key }) { encoded.add(key, value: value) }
        } else {
            encoded.omit = true
        }
        return try await call(method: method, params: encoded)
    }

    // MARK: The wire

    private func call(method: String, params: RequestParams) async throws -> JSONValue {
        let id = ids.wrappingAdd(1, ordering: .relaxed).newValue
        let line = params.line(id: id, method: method)
        let response = try await connection.send(ByteBuffer(bytes: line), id: id)
        let parsed = response.withUnsafeReadableBytes { JSONParser.parse($0) }
        guard case .object(let members)? = parsed else { throw malformed("the response is not a JSON object") }
        switch members["id"] {
        case .int(id)?: break
        case .null?:
            // Only an error can carry a null id (a parse error, or a line over the server's limit).
            guard members["error"] != nil else { throw malformed("the response's id does not match the request") }
        default: throw malformed("the response's id does not match the request")
        }
        if let error = members["error"] {
            guard case .int(let code)? = error["code"] else { throw malformed("the error has no integer code") }
            var data: [String: JSONValue] = [:]
            if case .object(let members)? = error["data"] { data = members }
            throw VaultClientError(code: Int(code), message: error["message"]?.stringValue ?? "", data: data)
        }
        guard let result = members["result"] else { throw malformed("the response has neither result nor error") }
        return result
    }

    private func malformed(_ message: String) -> VaultConnectionError {
        VaultConnectionError(.malformedResponse, message, socketPath: socketPath)
    }
}

/// A request line being built: the envelope around the params, written straight to bytes by VaultJSON's
/// writer with the wire's options.
struct RequestParams {
    /// The params object, open until the line is written.
    private var params = JSONWriter(options: .wire, capacity: 128)
    /// True to send no `params` member at all.
    var omit = false

    init() { params.beginObject() }

    mutating func add(_ name: String, string: String) { params.member(name, string) }

    /// Params holding only `subject`.
    static func subject(_ subject: String) -> RequestParams {
        var params = RequestParams()
        params.add("subject", string: subject)
        return params
    }

    mutating func add(_ name: String, strings: [String]) { params.member(name, strings) }

    mutating func add(_ name: String, value: JSONValue) { params.member(name, value) }

    mutating func add(_ name: String, limits: VaultClient.TokenLimits) {
        params.key(name)
        limits.write(into: &params)
    }

    func line(id: Int64, method: String) -> [UInt8] {
        var line = JSONWriter(options: .wire, capacity: params.bytes.count + method.utf8.count + 64)
        line.beginObject()
        line.member("jsonrpc", "2.0")
        line.member("id", id)
        line.member("method", method)
        if !omit {
            var params = self.params
            params.endObject()
            line.key("params")
            line.raw(params.bytes)
        }
        line.endObject()
        line.bytes.append(UInt8(ascii: "\n"))
        return line.bytes
    }
}
