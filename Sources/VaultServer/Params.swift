import VaultCore
import VaultJSON

#if canImport(Glibc)
import Glibc
#endif

/// Typed access to a request's `params`, with errors that name the field (never echo its content).
/// A member set to `null` counts as absent.
///
/// Every format of docs/PROTOCOL.md §6 is checked here, so a malformed param is answered `-32602` with
/// `data.field` (step 3 of §6.6) before item counts (step 4) and the policy (step 5) are looked at.
struct Params {
    let members: [String: JSONValue]

    /// `value` is the request's `params`: absent, an object or an array (the envelope check refuses any
    /// other JSON type as an invalid request before this). An array is a params error.
    init(_ value: JSONValue?) throws(RPCError) {
        switch value {
        case nil: members = [:]
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
        guard let v = try optionalString(name) else {
            throw RPCError.invalidParams(field: name, reason: "required string is missing")
        }
        return v
    }

    func optionalString(_ name: String) throws(RPCError) -> String? {
        guard let v = member(name) else { return nil }
        guard case .string(let s) = v else { throw RPCError.invalidParams(field: name, reason: "must be a string") }
        return s
    }

    /// A required, non-empty array of strings.
    func strings(_ name: String) throws(RPCError) -> [String] {
        guard let v = member(name) else {
            throw RPCError.invalidParams(field: name, reason: "required array of strings is missing")
        }
        let items = try Self.strings(v, field: name)
        guard !items.isEmpty else {
            throw RPCError.invalidParams(field: name, reason: "must hold at least one element")
        }
        return items
    }

    static func strings(_ value: JSONValue, field: String) throws(RPCError) -> [String] {
        guard case .array(let items) = value else {
            throw RPCError.invalidParams(field: field, reason: "must be an array of strings")
        }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else {
                throw RPCError.invalidParams(field: field, reason: "must be a string", index: i)
            }
            out.append(s)
        }
        return out
    }

    // MARK: Formats (§6, "Common parameter formats")

    /// *subject*: `^[A-Za-z0-9._:-]{1,128}$`.
    func subject() throws(RPCError) -> String {
        let s = try string("subject")
        guard Self.isSubject(s) else {
            throw RPCError.invalidParams(field: "subject", reason: "must be 1 to 128 characters of A-Z a-z 0-9 . _ : -")
        }
        return s
    }

    /// *purpose*: `^[a-z0-9-]{1,64}$`.
    func purpose() throws(RPCError) -> String {
        let s = try string("purpose")
        guard Self.isPurpose(s) else {
            throw RPCError.invalidParams(field: "purpose", reason: "must match [a-z0-9-]+, 1 to 64 characters")
        }
        return s
    }

    /// *scope* (same format as a purpose); absent means `"default"`.
    func scope() throws(RPCError) -> String {
        guard let s = try optionalString("scope") else { return "default" }
        guard Self.isPurpose(s) else {
            throw RPCError.invalidParams(field: "scope", reason: "must match [a-z0-9-]+, 1 to 64 characters")
        }
        return s
    }

    /// 1–128 characters from 0x21–0x7E.
    func idempotencyKey() throws(RPCError) -> String? {
        guard let s = try optionalString("idempotency_key") else { return nil }
        guard (1...128).contains(s.utf8.count), s.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw RPCError.invalidParams(
                field: "idempotency_key",
                reason: "must be 1 to 128 printable ASCII characters without spaces"
            )
        }
        return s
    }

    static func isSubject(_ s: String) -> Bool {
        (1...128).contains(s.utf8.count)
            && s.utf8.allSatisfy {
                (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) || (0x30...0x39).contains($0)
                    || $0 == 0x2e || $0 == 0x5f || $0 == 0x3a || $0 == 0x2d
            }
    }

    static func isPurpose(_ s: String) -> Bool {
        (1...64).contains(s.utf8.count)
            && s.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d }
    }

    /// *timestamp*: exactly `YYYY-MM-DDTHH:MM:SSZ`, a real date and time; seconds since the epoch.
    static func timestamp(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 20 else { return nil }
        for (i, c) in b.enumerated() {
            let ok: Bool
            switch i {
            case 4, 7: ok = c == 0x2D
            case 10: ok = c == 0x54
            case 13, 16: ok = c == 0x3A
            case 19: ok = c == 0x5A
            default: ok = (0x30...0x39).contains(c)
            }
            guard ok else { return nil }
        }
        // A real date and time: what parses must print back the same (no 2027-02-30 rolled into March).
        guard let seconds = VaultClock.parseISO8601(text), VaultClock.iso8601(seconds) == text else { return nil }
        return seconds
    }

    /// `limits` of tokenize. Unknown members are refused so a misspelt limit never silently disappears.
    func limits() throws(RPCError) -> TokenLimits {
        guard let v = member("limits") else { return .none }
        guard case .object(let m) = v else {
            throw RPCError.invalidParams(field: "limits", reason: "must be an object")
        }
        for key in m.keys where !["purposes", "expires_at", "max_reveals"].contains(key) {
            throw RPCError.invalidParams(
                field: "limits",
                reason: "unknown member (allowed: purposes, expires_at, max_reveals)"
            )
        }
        var limits = TokenLimits()
        if let p = m["purposes"], p != .null {
            let purposes = try Self.strings(p, field: "limits.purposes")
            guard (1...32).contains(purposes.count) else {
                throw RPCError.invalidParams(field: "limits.purposes", reason: "must hold 1 to 32 purposes")
            }
            for (i, purpose) in purposes.enumerated() where !Self.isPurpose(purpose) {
                throw RPCError.invalidParams(
                    field: "limits.purposes",
                    reason: "must match [a-z0-9-]+, 1 to 64 characters",
                    index: i
                )
            }
            limits.purposes = purposes
        }
        if let e = m["expires_at"], e != .null {
            guard case .string(let text) = e, let seconds = Self.timestamp(text) else {
                throw RPCError.invalidParams(
                    field: "limits.expires_at",
                    reason: "must be a time like 2027-01-01T00:00:00Z"
                )
            }
            guard seconds > Int64(time(nil)) else {
                throw RPCError.invalidParams(field: "limits.expires_at", reason: "must be in the future")
            }
            limits.expiresAt = seconds
        }
        if let r = m["max_reveals"], r != .null {
            // An integer is a number with an integral value (§6): 3 and 3.0 are both 3; 1e999 is out of range.
            let n: Int64?
            switch r {
            case .int(let i): n = i
            case .double(let d) where d.rounded() == d && d >= 1 && d <= Double(Int32.max): n = Int64(d)
            default: n = nil
            }
            guard let n, n >= 1, n <= Int64(Int32.max) else {
                throw RPCError.invalidParams(
                    field: "limits.max_reveals",
                    reason: "must be an integer from 1 to 2147483647"
                )
            }
            limits.maxReveals = Int(n)
        }
        return limits
    }
}
