import Foundation
import Logging
import Synchronization
import VaultCore
import VaultJSON

/// What one line produced: the response line (nil for blank lines and notifications) and whether the
/// connection must close after it.
struct LineOutcome: Sendable {
    var response: String?
    var close = false
}

/// Turns request lines into response lines: JSON-RPC envelope rules (docs/PROTOCOL.md §3–4), the methods
/// (§6), and one log line per request. Holds no connection state.
final class RPCDispatcher: Sendable {
    let vault: Vault
    let logger: Logger
    private let counter = Atomic<Int>(0)

    init(vault: Vault, logger: Logger) {
        self.vault = vault
        self.logger = logger
    }

    func handle(_ bytes: [UInt8], uid: UInt32) async -> LineOutcome {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return LineOutcome(response: nil) }
        let parsed = RequestJSON.parse(bytes)
        let caller: Caller
        do {
            caller = try vault.caller(uid: uid)
        } catch {
            var id = RequestID.null
            if case .object(let m)? = parsed, let raw = m["id"], let valid = RequestID(raw) { id = valid }
            return await unknownIdentity(uid: uid, id: id)
        }
        switch parsed {
        case nil:
            return LineOutcome(response: RPCError.parse.response(id: .null, requestID: nextRequestID()))
        case .array(let elements)?:
            guard !elements.isEmpty else {
                return LineOutcome(response: RPCError.invalidRequest.response(id: .null, requestID: nextRequestID()))
            }
            var responses: [String] = []
            for element in elements {
                if let r = await handleRequest(element, caller: caller) { responses.append(r) }
            }
            return LineOutcome(response: responses.isEmpty ? nil : JSONText.array(responses))
        case let value?:
            return LineOutcome(response: await handleRequest(value, caller: caller))
        }
    }

    /// A line longer than the limit: `-32004` and close, except that an unknown uid gets `-32001` for
    /// anything it sends, an over-long line included (§2).
    func tooLarge(uid: UInt32, limit: Int) async -> LineOutcome {
        guard (try? vault.caller(uid: uid)) != nil else { return await unknownIdentity(uid: uid, id: .null) }
        let response = RPCError(code: -32004, data: [("limit", String(limit))]).response(id: .null, requestID: nextRequestID())
        return LineOutcome(response: response, close: true)
    }

    /// The one answer an unknown uid gets (audited), after which the connection closes.
    private func unknownIdentity(uid: UInt32, id: RequestID) async -> LineOutcome {
        let requestID = nextRequestID()
        try? await vault.auditUnknownIdentity(uid: uid)
        logger.warning("unknown identity", metadata: ["request.id": "\(requestID)", "peer.uid": "\(uid)"])
        let response = RPCError(code: -32001, data: [("uid", String(uid))]).response(id: id, requestID: requestID)
        return LineOutcome(response: response, close: true)
    }

    /// One request object. Returns nil for a valid notification.
    private func handleRequest(_ value: JSONValue, caller: Caller) async -> String? {
        let requestID = nextRequestID()
        guard case .object(let m) = value else { return RPCError.invalidRequest.response(id: .null, requestID: requestID) }
        var id = RequestID.null
        let isNotification = m["id"] == nil
        if let raw = m["id"] {
            guard let valid = RequestID(raw) else { return RPCError.invalidRequest.response(id: .null, requestID: requestID) }
            id = valid
        }
        guard m["jsonrpc"] == .string("2.0"), case .string(let method)? = m["method"] else {
            return RPCError.invalidRequest.response(id: id, requestID: requestID)
        }
        // `params` of a type other than object or array makes the whole request invalid, so it is answered
        // even when it has no id (§4.3).
        switch m["params"] {
        case nil, .object?, .array?: break
        default: return RPCError.invalidRequest.response(id: id, requestID: requestID)
        }
        let started = ContinuousClock.now
        var count = 0
        let result: Result<String, RPCError>
        do {
            let params = try Params(m["params"])
            result = .success(try await call(method, params, caller: caller, count: &count))
        } catch let error as RPCError {
            result = .failure(error)
        } catch let error as VaultError {
            if error.code == .internal || error.code == .storage || error.code == .audit || error.code == .integrity || error.code == .keyring {
                logger.error("request failed", metadata: ["request.id": "\(requestID)", "error": "\(error.message)"])
            }
            result = .failure(RPCError.from(error, method: method, kind: method == "tokenize" ? Self.kindName(m["params"]) : nil))
        } catch {
            logger.error("request failed", metadata: ["request.id": "\(requestID)", "error": "\(type(of: error))"])
            result = .failure(RPCError(code: -32006))
        }
        let elapsed = ContinuousClock.now - started
        let outcome: String
        switch result {
        case .success: outcome = "ok"
        case .failure(let e): outcome = "error \(e.code)"
        }
        logger.info("request", metadata: [
            "request.id": "\(requestID)", "identity": "\(caller.identity.name)", "method": "\(method.prefix(32))",
            "count": "\(count)", "outcome": "\(outcome)",
            "duration_ms": "\(String(format: "%.3f", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000))",
        ])
        if isNotification { return nil }
        switch result {
        case .success(let body): return "{\"jsonrpc\":\"2.0\",\"id\":\(id.json),\"result\":\(body)}"
        case .failure(let error): return error.response(id: id, requestID: requestID)
        }
    }

    private func call(_ method: String, _ params: Params, caller: Caller, count: inout Int) async throws -> String {
        switch method {
        case "tokenize":
            // §6.6: param types and formats here (3); the item count (4), the policy and the rest (5-9) in
            // the vault.
            let kindName = try params.string("kind")
            guard let kind = Kind(rawValue: kindName) else {
                throw RPCError.invalidParams(field: "kind", reason: "unknown kind (email, phone, card, ssn, name, address, date, text)")
            }
            let request = TokenizeRequest(
                kind: kind, subject: try params.subject(), values: try params.strings("values"),
                limits: try params.limits(), idempotencyKey: try params.idempotencyKey(), scope: try params.scope())
            count = request.values.count
            let tokens = try await vault.tokenize(request, caller: caller)
            return JSONText.object([("tokens", JSONText.array(tokens.map(JSONText.quote)))])
        case "detokenize":
            let tokens = try params.strings("tokens")
            let purpose = try params.purpose()
            count = tokens.count
            let items = try await vault.detokenize(tokens, purpose: purpose, caller: caller)
            return JSONText.object([("items", JSONText.array(items.map(Self.item)))])
        case "erase":
            let erased = try await vault.erase(subject: try params.subject(), caller: caller)
            count = erased
            return JSONText.object([("erased", String(erased))])
        case "whoami":
            return JSONText.object([("identity", JSONText.quote(caller.identity.name)),
                                    ("roles", JSONText.array(caller.identity.roles.map(JSONText.quote)))])
        case "health":
            // A broken audit log (rewritten under the server) degrades the vault: detokenize fails closed.
            let auditIntact = vault.auditProblem == nil
            return JSONText.object([("status", auditIntact ? "\"ok\"" : "\"degraded\""), ("version", JSONText.quote(VaultServer.version)),
                                    ("active_kek", String(vault.keyring.activeKEKVersion)),
                                    ("audit", auditIntact ? "\"ok\"" : "\"broken\"")])
        default:
            throw RPCError.methodNotFound
        }
    }

    private static func item(_ item: RevealItem) -> String {
        switch item {
        case .value(let value, let mode): return JSONText.object([("value", JSONText.quote(value)), ("reveal", JSONText.quote(mode.rawValue))])
        case .error(let failure): return JSONText.object([("error", JSONText.quote(failure.rawValue))])
        }
    }

    /// The `kind` a tokenize request names, when it is a known kind (for `data.kind` of `-32002`).
    private static func kindName(_ params: JSONValue?) -> String? {
        guard case .object(let m)? = params, case .string(let k)? = m["kind"], Kind(rawValue: k) != nil else { return nil }
        return k
    }

    private func nextRequestID() -> String {
        "r\(counter.wrappingAdd(1, ordering: .relaxed).newValue)"
    }
}
