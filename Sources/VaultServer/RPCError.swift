import VaultCore
import VaultJSON

/// A JSON-RPC error as sent: a code from docs/PROTOCOL.md §8, its fixed message, and `data` (members in the
/// order given; `request_id` is added when the error is written).
struct RPCError: Error, Sendable {
    var code: Int
    var data: [(String, JSONValue)] = []

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
        var data: [(String, JSONValue)] = [("field", .string(field))]
        if let index { data.append(("index", .int(Int64(index)))) }
        data.append(("reason", .string(reason)))
        return RPCError(code: -32602, data: data)
    }

    /// Maps a domain error to its protocol code, and its `Field` to the name in `data.field`. Messages come
    /// from `VaultError`, which never holds a value, a mask or a secret; `internal` errors say nothing but the
    /// request id (the detail goes to the log).
    static func from(_ error: VaultError, method: String, kind: String? = nil) -> RPCError {
        let field = error.field.flatMap(\.wireName).map { ("field", JSONValue.string($0)) }
        switch error.code {
        case .invalidValue:
            var data: [(String, JSONValue)] = []
            if let index = error.index { data.append(("index", .int(Int64(index)))) }
            if let kind = error.kind { data.append(("kind", .string(kind.rawValue))) }
            data.append(("reason", .string(error.reason ?? error.message)))
            return RPCError(code: -32602, data: data)
        case .invalidRequest, .policy:
            var data: [(String, JSONValue)] = []
            if let field { data.append(field) }
            if let index = error.index { data.append(("index", .int(Int64(index)))) }
            data.append(("reason", .string(error.message)))
            return RPCError(code: -32602, data: data)
        case .unknownIdentity:
            return RPCError(code: -32001)
        case .denied:
            var data: [(String, JSONValue)] = [("method", .string(method))]
            if let kind { data.append(("kind", .string(kind))) }
            data.append(("reason", .string(error.message)))
            return RPCError(code: -32002, data: data)
        case .rateLimited:
            var data: [(String, JSONValue)] = [
                ("retry_after_ms", .int(Int64(max(1, error.retryAfterMilliseconds ?? 1000))))
            ]
            if let limit = error.limit { data.append(("limit", .int(Int64(limit)))) }
            if let field { data.append(field) }
            return RPCError(code: -32003, data: data)
        case .tooLarge:
            var data: [(String, JSONValue)] = []
            if let limit = error.limit { data.append(("limit", .int(Int64(limit)))) }
            if let field { data.append(field) }
            return RPCError(code: -32004, data: data)
        case .sealed:
            return RPCError(code: -32005)
        case .storage where error.isNotScrubbed:
            // The erase is committed: the client must not read this as "nothing happened" (docs/PROTOCOL.md §6.3).
            return RPCError(code: -32006, data: [("reason", .string(notScrubbedReason))])
        case .storeUnavailable:
            // The client should retry: the server reconnects by itself (docs/PROTOCOL.md §8).
            return RPCError(code: -32006, data: [("reason", .string(storeUnavailableReason))])
        case .audit:
            // Public facts only (record numbers, hashes): the operator's client must see why reveals stopped.
            return RPCError(code: -32006, data: [("reason", .string(error.message))])
        default:
            return RPCError(code: -32006)
        }
    }

    /// `data.reason` of the `-32006` an erase answers when it committed but its scrub could not finish yet
    /// (docs/PROTOCOL.md §6.3).
    static let notScrubbedReason = "erased, not yet scrubbed"

    /// `data.reason` of the `-32006` for a database that cannot be reached (docs/PROTOCOL.md §8).
    static let storeUnavailableReason = "store unavailable"

    /// `-32004` for an answer larger than `--max-response-bytes` (docs/PROTOCOL.md §5).
    static func responseTooLarge(limit: Int) -> RPCError {
        RPCError(code: -32004, data: [("limit", .int(Int64(limit))), ("field", .string("response"))])
    }

    /// Writes the whole error response into `out`. `unlimited`: an error that replaces an answer over the
    /// cap is always sent.
    func write(id: RequestID, requestID: String, into out: inout ResponseBuffer, unlimited: Bool = false) {
        var error = JSONWriter(options: .wire, capacity: 128)
        error.beginObject()
        error.member("code", code)
        error.member("message", message)
        error.key("data")
        error.beginObject()
        for (name, value) in data { error.member(name, value) }
        error.member("request_id", requestID)
        error.endObject()
        error.endObject()
        out.raw("{\"jsonrpc\":\"2.0\",\"id\":", unlimited: unlimited)
        out.id(id, unlimited: unlimited)
        out.raw(",\"error\":", unlimited: unlimited)
        out.raw(error.bytes, unlimited: unlimited)
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
        case .purposes: return "purposes"
        case .consentSource: return "source"
        case .consentExpiresAt: return "expires_at"
        case .restrictionReason: return "reason"
        case .missesPerMinute: return "misses_per_minute"
        case .revealsPerMinute: return "reveals_per_minute"
        case .vaultFiles, .passphrase, .unsealShares, .shares, .rewrapBatch, .allowRollback: return nil
        }
    }
}
