import VaultCore
import VaultJSON

/// Typed access to a request's `params`, with errors that name the field (never echo its content).
/// A member set to `null` counts as absent.
struct Params {
    let members: [String: JSONValue]

    init(_ value: JSONValue?) throws(RPCError) {
        switch value {
        case nil, .null?: members = [:]
        case .object(let m)?: members = m
        case .array?: throw RPCError.invalidParams(field: "params", reason: "params must be an object")
        default: throw RPCError.invalidRequest
        }
    }

    private func member(_ name: String) -> JSONValue? {
        guard let v = members[name], v != .null else { return nil }
        return v
    }

    func string(_ name: String) throws(RPCError) -> String {
        guard let v = try optionalString(name) else { throw RPCError.invalidParams(field: name, reason: "required string is missing") }
        return v
    }

    func optionalString(_ name: String) throws(RPCError) -> String? {
        guard let v = member(name) else { return nil }
        guard case .string(let s) = v else { throw RPCError.invalidParams(field: name, reason: "must be a string") }
        return s
    }

    func strings(_ name: String) throws(RPCError) -> [String] {
        guard let v = member(name) else { throw RPCError.invalidParams(field: name, reason: "required array of strings is missing") }
        return try Self.strings(v, field: name)
    }

    static func strings(_ value: JSONValue, field: String) throws(RPCError) -> [String] {
        guard case .array(let items) = value else { throw RPCError.invalidParams(field: field, reason: "must be an array of strings") }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else { throw RPCError.invalidParams(field: field, reason: "must be a string", index: i) }
            out.append(s)
        }
        return out
    }

    /// `limits` of tokenize. Unknown members are refused so a misspelt limit never silently disappears.
    func limits() throws(RPCError) -> TokenLimits {
        guard let v = member("limits") else { return .none }
        guard case .object(let m) = v else { throw RPCError.invalidParams(field: "limits", reason: "must be an object") }
        for key in m.keys where !["purposes", "expires_at", "max_reveals"].contains(key) {
            throw RPCError.invalidParams(field: "limits", reason: "unknown member (allowed: purposes, expires_at, max_reveals)")
        }
        var limits = TokenLimits()
        if let p = m["purposes"], p != .null { limits.purposes = try Self.strings(p, field: "limits.purposes") }
        if let e = m["expires_at"], e != .null {
            guard case .string(let text) = e, let seconds = VaultClock.parseISO8601(text) else {
                throw RPCError.invalidParams(field: "limits.expires_at", reason: "must be a time like 2027-01-01T00:00:00Z")
            }
            limits.expiresAt = seconds
        }
        if let r = m["max_reveals"], r != .null {
            // An integer is "a JSON number with an integral value" (docs/PROTOCOL.md §6): 3 and 3.0 alike.
            var integral: Int64?
            switch r {
            case .int(let n): integral = n
            case .double(let d) where d.rounded() == d && abs(d) <= 1e15: integral = Int64(d)
            default: integral = nil
            }
            guard let n = integral, n >= 1, n <= Int64(Int32.max) else {
                throw RPCError.invalidParams(field: "limits.max_reveals", reason: "must be an integer from 1 to 2147483647")
            }
            limits.maxReveals = Int(n)
        }
        return limits
    }
}
