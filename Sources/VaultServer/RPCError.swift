import VaultCore

/// A JSON-RPC error as sent: a code from docs/PROTOCOL.md §8, its fixed message, and `data`.
struct RPCError: Error, Sendable {
    var code: Int
    var data: [(String, String)] = []

    var message: String {
        switch code {
        case -32700: return "Parse error"
        case -32600: return "Invalid Request"
        case -32601: return "Method not found"
        case -32602: return "Invalid params"
        case -32001: return "unknown identity"
        case -32002: return "forbidden"
        case -32003: return "rate limited"
        case -32004: return "too large"
        case -32005: return "sealed"
        default: return "internal error"
        }
    }

    static let parse = RPCError(code: -32700)
    static let invalidRequest = RPCError(code: -32600)
    static let methodNotFound = RPCError(code: -32601)

    static func invalidParams(field: String, reason: String, index: Int? = nil) -> RPCError {
        var data = [("field", JSONText.quote(field))]
        if let index { data.append(("index", String(index))) }
        data.append(("reason", JSONText.quote(reason)))
        return RPCError(code: -32602, data: data)
    }

    /// Maps a domain error to its protocol code, and its `Field` to the name in `data.field`. Messages come
    /// from `VaultError`, which never holds a value, a mask or a secret; `internal` errors say nothing but the
    /// request id (the detail goes to the log).
    static func from(_ error: VaultError, method: String, kind: String? = nil) -> RPCError {
        let field = error.field.flatMap(\.wireName).map { ("field", JSONText.quote($0)) }
        switch error.code {
        case .invalidValue:
            var data: [(String, String)] = []
            if let index = error.index { data.append(("index", String(index))) }
            if let kind = error.kind { data.append(("kind", JSONText.quote(kind.rawValue))) }
            data.append(("reason", JSONText.quote(error.reason ?? error.message)))
            return RPCError(code: -32602, data: data)
        case .invalidRequest, .policy:
            var data: [(String, String)] = []
            if let field { data.append(field) }
            if let index = error.index { data.append(("index", String(index))) }
            data.append(("reason", JSONText.quote(error.message)))
            return RPCError(code: -32602, data: data)
        case .unknownIdentity:
            return RPCError(code: -32001)
        case .denied:
            var data = [("method", JSONText.quote(method))]
            if let kind { data.append(("kind", JSONText.quote(kind))) }
            data.append(("reason", JSONText.quote(error.message)))
            return RPCError(code: -32002, data: data)
        case .rateLimited:
            var data = [("retry_after_ms", String(max(1, error.retryAfterMilliseconds ?? 1000)))]
            if let limit = error.limit { data.append(("limit", String(limit))) }
            if let field { data.append(field) }
            return RPCError(code: -32003, data: data)
        case .tooLarge:
            var data: [(String, String)] = []
            if let limit = error.limit { data.append(("limit", String(limit))) }
            if let field { data.append(field) }
            return RPCError(code: -32004, data: data)
        case .sealed:
            return RPCError(code: -32005)
        case .storage where error.isNotScrubbed:
            // The erase is committed: the client must not read this as "nothing happened" (docs/PROTOCOL.md §6.3).
            return RPCError(code: -32006, data: [("reason", JSONText.quote(notScrubbedReason))])
        case .audit:
            // Public facts only (record numbers, hashes): the operator's client must see why reveals stopped.
            return RPCError(code: -32006, data: [("reason", JSONText.quote(error.message))])
        default:
            return RPCError(code: -32006)
        }
    }

    /// `data.reason` of the `-32006` an erase answers when it committed but its scrub could not finish yet
    /// (docs/PROTOCOL.md §6.3).
    static let notScrubbedReason = "erased, not yet scrubbed"

    /// `-32004` for an answer larger than `--max-response-bytes` (docs/PROTOCOL.md §5).
    static func responseTooLarge(limit: Int) -> RPCError {
        RPCError(code: -32004, data: [("limit", String(limit)), ("field", JSONText.quote("response"))])
    }

    /// Writes the whole error response into `out`. `unlimited`: an error that replaces an answer over the
    /// cap is always sent.
    func write(id: RequestID, requestID: String, into out: inout ResponseBuffer, unlimited: Bool = false) {
        var data = self.data
        data.append(("request_id", JSONText.quote(requestID)))
        let error = JSONText.object([
            ("code", String(code)), ("message", JSONText.quote(message)), ("data", JSONText.object(data)),
        ])
        out.raw("{\"jsonrpc\":\"2.0\",\"id\":", unlimited: unlimited)
        if case .string(let s) = id {
            out.quote(s, unlimited: unlimited)
        } else {
            out.raw(id.json, unlimited: unlimited)
        }
        out.raw(",\"error\":", unlimited: unlimited)
        out.raw(error, unlimited: unlimited)
        out.raw("}", unlimited: unlimited)
    }
}

extension VaultError.Field {
    /// The field's name in `data.field` (docs/PROTOCOL.md); nil for an operator's input (a passphrase, a
    /// rewrap batch, …), which no request carries.
    var wireName: String? {
        switch self {
        case .values: return "values"
        case .subject: return "subject"
        case .scope: return "scope"
        case .limits: return "limits"
        case .limitsPurposes: return "limits.purposes"
        case .limitsExpiresAt: return "limits.expires_at"
        case .limitsMaxReveals: return "limits.max_reveals"
        case .idempotencyKey: return "idempotency_key"
        case .tokens: return "tokens"
        case .purpose: return "purpose"
        case .missesPerMinute: return "misses_per_minute"
        case .revealsPerMinute: return "reveals_per_minute"
        case .vaultFiles, .passphrase, .unsealShares, .shares, .rewrapBatch, .allowRollback: return nil
        }
    }
}
