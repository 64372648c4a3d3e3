import Foundation
import Logging
import NIOCore
import Synchronization
import VaultCore
import VaultJSON

/// What one line produced: the response line, `\n` included (nil for blank lines and notifications), and
/// whether the connection must close after it.
struct LineOutcome: Sendable {
    var response: ByteBuffer?
    var close = false
}

/// Turns request lines into response lines: JSON-RPC envelope rules (docs/PROTOCOL.md §3–4), the methods
/// (§6), and one log line per request. Holds no connection state.
final class RPCDispatcher: Sendable {
    let vault: Vault
    let logger: Logger
    /// `--max-response-bytes`: the longest response line (without its `\n`) the server builds (§5).
    let maxResponseBytes: Int
    private let counter = Atomic<Int>(0)

    init(vault: Vault, logger: Logger, maxResponseBytes: Int) {
        self.vault = vault
        self.logger = logger
        self.maxResponseBytes = maxResponseBytes
    }

    func handle(_ bytes: [UInt8], uid: UInt32, allocator: ByteBufferAllocator) async -> LineOutcome {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return LineOutcome(response: nil) }
        // The identity first, before the line is even parsed: an unknown uid gets nothing of the parser.
        // (Unknown uids are answered at accept; this is a policy reloaded while the connection was open.)
        guard let caller = try? vault.caller(uid: uid) else { return unknownIdentity(uid: uid, allocator: allocator) }
        var out = ResponseBuffer(allocator: allocator, limit: maxResponseBytes)
        switch RequestJSON.parse(bytes) {
        case nil:
            RPCError.parse.write(id: .null, requestID: nextRequestID(), into: &out)
        case .array(let elements)?:
            guard !elements.isEmpty else {
                RPCError.invalidRequest.write(id: .null, requestID: nextRequestID(), into: &out)
                break
            }
            if let refusal = batchRefusal(elements, caller: caller) {
                refusal.write(id: .null, requestID: nextRequestID(), into: &out)
                break
            }
            out.raw("[")
            var any = false
            for element in elements {
                guard let reply = await handleRequest(element, caller: caller) else { continue }
                let mark = out.mark
                if any { out.raw(",") }
                write(reply, into: &out)
                if out.overflowed {
                    // Past the cap: this element gets -32004 in its place. Error entries are always sent, so
                    // the client learns which elements ran.
                    out.rewind(to: mark)
                    if any { out.raw(",", unlimited: true) }
                    replaceTooLarge(reply, into: &out)
                }
                any = true
            }
            guard any else { return LineOutcome(response: nil) }
            out.raw("]", unlimited: true)
        case let value?:
            guard let reply = await handleRequest(value, caller: caller) else { return LineOutcome(response: nil) }
            let start = out.mark
            write(reply, into: &out)
            if out.overflowed {
                out.rewind(to: start)
                replaceTooLarge(reply, into: &out)
            }
        }
        return LineOutcome(response: out.finish())
    }

    /// A batch is limited like the calls in it (§4.2): at most `max_batch` elements, and at most `max_batch`
    /// items (`values` of tokenize, `tokens` of detokenize) across all of them. Checked before any element
    /// runs, so a refused batch changes nothing.
    private func batchRefusal(_ elements: [JSONValue], caller: Caller) -> RPCError? {
        let maxBatch = vault.policy.limits(for: caller.identity).maxBatch
        var items = 0
        for element in elements {
            guard case .object(let m) = element, case .object(let params)? = m["params"] else { continue }
            for field in ["values", "tokens"] {
                if case .array(let list)? = params[field] { items += list.count }
            }
        }
        guard elements.count > maxBatch || items > maxBatch else { return nil }
        return RPCError(code: -32004, data: [("limit", .int(Int64(maxBatch))), ("field", .string("batch"))])
    }

    /// A line longer than the limit: `-32004` and close, except that an unknown uid gets `-32001` (§2).
    func tooLarge(uid: UInt32, limit: Int, allocator: ByteBufferAllocator) -> LineOutcome {
        guard (try? vault.caller(uid: uid)) != nil else { return unknownIdentity(uid: uid, allocator: allocator) }
        var out = ResponseBuffer(allocator: allocator, limit: maxResponseBytes)
        RPCError(code: -32004, data: [("limit", .int(Int64(limit)))]).write(
            id: .null,
            requestID: nextRequestID(),
            into: &out,
            unlimited: true
        )
        return LineOutcome(response: out.finish(), close: true)
    }

    /// The one answer an unknown uid gets (`id` null: nothing it sent is read), after which the connection
    /// closes. Counted, not audited one by one: the vault writes one aggregated record per uid per window
    /// (`UnknownIdentityCounter`), so a flood of attempts costs no fsync each.
    func unknownIdentity(uid: UInt32, allocator: ByteBufferAllocator) -> LineOutcome {
        let requestID = nextRequestID()
        vault.unknownIdentities.record(uid: uid)
        logger.debug("unknown identity", metadata: ["request.id": "\(requestID)", "peer.uid": "\(uid)"])
        var out = ResponseBuffer(allocator: allocator, limit: maxResponseBytes)
        RPCError(code: -32001, data: [("uid", .int(Int64(uid)))]).write(
            id: .null,
            requestID: requestID,
            into: &out,
            unlimited: true
        )
        return LineOutcome(response: out.finish(), close: true)
    }

    /// A refusal at accept time past a connection cap (§5): `-32004` naming the limit, then close.
    func connectionRefused(limit: Int, field: String, uid: UInt32, allocator: ByteBufferAllocator) -> ByteBuffer {
        let requestID = nextRequestID()
        logger.debug(
            "connection refused",
            metadata: ["request.id": "\(requestID)", "peer.uid": "\(uid)", "limit": "\(field)"]
        )
        var out = ResponseBuffer(allocator: allocator, limit: maxResponseBytes)
        RPCError(code: -32004, data: [("limit", .int(Int64(limit))), ("field", .string(field))])
            .write(id: .null, requestID: requestID, into: &out, unlimited: true)
        return out.finish()
    }

    /// A request's answer before it is written: its id, its log name, and the result or the error.
    struct Reply {
        var id: RequestID
        var requestID: String
        var result: Result<Body, RPCError>
    }

    /// A method's result, written into the response buffer as it goes out.
    enum Body {
        /// A small object, its members in this order.
        case object([(String, JSONValue)])
        case tokens([String])
        case items([RevealItem])
    }

    private func write(_ reply: Reply, into out: inout ResponseBuffer) {
        switch reply.result {
        case .failure(let error):
            error.write(id: reply.id, requestID: reply.requestID, into: &out)
        case .success(let body):
            out.raw("{\"jsonrpc\":\"2.0\",\"id\":")
            out.id(reply.id)
            out.raw(",\"result\":")
            Self.write(body, into: &out)
            out.raw("}")
        }
    }

    /// The answer was over `--max-response-bytes`: `-32004` in its place. Whatever the call did stands (a
    /// detokenize's reveal is already audited, a tokenize's tokens stored); §5 says so.
    private func replaceTooLarge(_ reply: Reply, into out: inout ResponseBuffer) {
        logger.warning(
            "response too large",
            metadata: ["request.id": "\(reply.requestID)", "limit": "\(maxResponseBytes)"]
        )
        RPCError.responseTooLarge(limit: maxResponseBytes).write(
            id: reply.id,
            requestID: reply.requestID,
            into: &out,
            unlimited: true
        )
    }

    private static func write(_ body: Body, into out: inout ResponseBuffer) {
        switch body {
        case .object(let members):
            var json = JSONWriter(options: .wire)
            json.beginObject()
            for (name, value) in members { json.member(name, value) }
            json.endObject()
            out.raw(json.bytes)
        case .tokens(let tokens):
            out.raw("{\"tokens\":[")
            for (i, token) in tokens.enumerated() {
                if i > 0 { out.raw(",") }
                out.quote(token)
            }
            out.raw("]}")
        case .items(let items):
            // Each value goes out at least as long as it is stored (escaping only lengthens it): when that
            // alone passes the cap, nothing is written at all.
            var floor = 0
            for case .value(let value, _) in items { floor &+= value.utf8.count }
            guard out.fits(floor) else {
                out.refuse()
                return
            }
            out.raw("{\"items\":[")
            for (i, item) in items.enumerated() {
                if out.overflowed { return }
                if i > 0 { out.raw(",") }
                switch item {
                case .value(let value, let mode):
                    out.raw("{\"value\":")
                    out.quote(value)
                    out.raw(",\"reveal\":")
                    out.quote(mode.rawValue)
                    out.raw("}")
                case .error(let failure):
                    out.raw("{\"error\":")
                    out.quote(failure.rawValue)
                    out.raw("}")
                }
            }
            out.raw("]}")
        }
    }

    /// One request object. Returns nil for a valid notification.
    private func handleRequest(_ value: JSONValue, caller: Caller) async -> Reply? {
        let requestID = nextRequestID()
        func invalid(_ id: RequestID) -> Reply {
            Reply(id: id, requestID: requestID, result: .failure(.invalidRequest))
        }
        guard case .object(let m) = value else { return invalid(.null) }
        var id = RequestID.null
        let isNotification = m["id"] == nil
        if let raw = m["id"] {
            guard let valid = RequestID(raw) else { return invalid(.null) }
            id = valid
        }
        guard m["jsonrpc"] == .string("2.0"), case .string(let method)? = m["method"] else { return invalid(id) }
        // `params` of a type other than object or array makes the whole request invalid, so it is answered
        // even when it has no id (§4.3).
        switch m["params"] {
        case nil, .object?, .array?: break
        default: return invalid(id)
        }
        let started = ContinuousClock.now
        var count = 0
        let result: Result<Body, RPCError>
        do {
            let params = try Params(m["params"])
            result = .success(try await call(method, params, caller: caller, count: &count))
        } catch let error as RPCError {
            result = .failure(error)
        } catch let error as VaultError {
            if error.code == .internal || error.code == .storage || error.code == .audit || error.code == .integrity
                || error.code == .keyring || error.code == .storeUnavailable
            {
                logger.error(
                    "request failed",
                    metadata: ["request.id": "\(requestID)", "error": "\(LogText.escape(error.message, limit: 512))"]
                )
            }
            result = .failure(
                RPCError.from(error, method: method, kind: method == "tokenize" ? Self.kindName(m["params"]) : nil)
            )
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
        logger.info(
            "request",
            metadata: [
                // The method is the caller's text: escaped, so a newline cannot start a forged log line.
                "request.id": "\(requestID)", "identity": "\(caller.identity.name)",
                "method": "\(LogText.escape(method, limit: 32))",
                "count": "\(count)", "outcome": "\(outcome)",
                "duration_ms":
                    "\(String(format: "%.3f", elapsed / .milliseconds(1)))",
            ]
        )
        if isNotification { return nil }
        return Reply(id: id, requestID: requestID, result: result)
    }

    private func call(_ method: String, _ params: Params, caller: Caller, count: inout Int) async throws -> Body {
        switch method {
        case "tokenize":
            // §6.6: param types and formats here (3); the item count (4), the policy and the rest (5-9) in
            // the vault.
            let kindName = try params.string("kind")
            guard let kind = Kind(rawValue: kindName) else {
                throw RPCError.invalidParams(
                    field: "kind",
                    reason: "unknown kind (email, phone, card, ssn, name, address, date, text)"
                )
            }
            let request = TokenizeRequest(
                kind: kind,
                subject: try params.subject(),
                values: try params.strings("values"),
                limits: try params.limits(),
                idempotencyKey: try params.idempotencyKey(),
                scope: try params.scope()
            )
            count = request.values.count
            let tokens = try await vault.tokenize(request, caller: caller)
            return .tokens(tokens)
        case "detokenize":
            let tokens = try params.strings("tokens")
            let purpose = try params.purpose()
            count = tokens.count
            let items = try await vault.detokenize(tokens, purpose: purpose, caller: caller)
            return .items(items)
        case "erase":
            // `erased` as it always was; `receipt` is the erasure receipt's file, byte for byte, as a string
            // (docs/PROTOCOL.md §6.3): a client writes it out as it is and `cvault statement verify` checks it.
            let erasure = try await vault.erase(subject: try params.subject(), caller: caller)
            count = erasure.erased
            return .object([
                ("erased", .int(Int64(erasure.erased))),
                ("receipt", .string(String(decoding: erasure.receipt.fileBytes, as: UTF8.self))),
            ])
        case "consent.grant", "consent.withdraw", "consent.list", "subject.restrict", "subject.unrestrict":
            return .object(try await rights(method, params, caller: caller))
        case "subject.report": return try await subjectReport(params, caller: caller)
        case "subject.export": return try await subjectExport(params, caller: caller, count: &count)
        case "whoami":
            return .object([
                ("identity", .string(caller.identity.name)),
                ("roles", .array(caller.identity.roles.map(JSONValue.string))),
            ])
        case "health":
            // A broken audit log (rewritten under the server) degrades the vault: detokenize fails closed.
            let auditIntact = vault.auditProblem == nil
            return .object([
                ("status", .string(auditIntact ? "ok" : "degraded")),
                ("version", .string(VaultServer.version)),
                ("active_kek", .int(Int64(vault.keyring.activeKEKVersion))),
                ("audit", .string(auditIntact ? "ok" : "broken")),
            ])
        default:
            throw RPCError.methodNotFound
        }
    }

    /// The `kind` a tokenize request names, when it is a known kind (for `data.kind` of `-32002`).
    private static func kindName(_ params: JSONValue?) -> String? {
        guard case .object(let m)? = params, case .string(let k)? = m["kind"], Kind(rawValue: k) != nil else {
            return nil
        }
        return k
    }

    private func nextRequestID() -> String {
        "r\(counter.wrappingAdd(1, ordering: .relaxed).newValue)"
    }
}
