import VaultCore
import VaultJSON

/// Typed access to a request's `params`, with errors that name the field (never echo its content).
/// A member set to `null` counts as absent.
///
/// Every param of docs/PROTOCOL.md §6 is parsed here, once, into the domain's types (`Subject`, `Purpose`,
/// `Scope`, `IdempotencyKey`, `TokenLimits`), whose initializers hold the rules; this file checks only the JSON
/// types. A malformed param is answered `-32602` with `data.field` (step 3 of §6.6) before item counts
/// (step 4) and the policy (step 5) are looked at; the bounds of `limits` are checked by the vault first of
/// all, against its clock, and answered the same way.
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

    /// A param parsed into its domain type, whose initializer holds the rule (`Subject`, `Purpose`, `Scope`,
    /// `IdempotencyKey`): this file checks only JSON types. A value the type refuses is `-32602` naming
    /// `field` (and `index` in an array), with the type's own reason, which never echoes the value.
    static func parse<Value>(
        _ field: String,
        index: Int? = nil,
        _ make: () throws(VaultError) -> Value
    ) throws(RPCError) -> Value {
        do {
            return try make()
        } catch {
            throw RPCError.invalidParams(field: field, reason: error.message, index: index)
        }
    }

    func subject() throws(RPCError) -> Subject {
        let s = try string("subject")
        return try Self.parse("subject") { () throws(VaultError) in try Subject(s) }
    }

    func purpose() throws(RPCError) -> Purpose {
        let s = try string("purpose")
        return try Self.parse("purpose") { () throws(VaultError) in try Purpose(s) }
    }

    /// Absent means `Scope.default`.
    func scope() throws(RPCError) -> Scope {
        guard let s = try optionalString("scope") else { return .default }
        return try Self.parse("scope") { () throws(VaultError) in try Scope(s) }
    }

    func idempotencyKey() throws(RPCError) -> IdempotencyKey? {
        guard let s = try optionalString("idempotency_key") else { return nil }
        return try Self.parse("idempotency_key") { () throws(VaultError) in try IdempotencyKey(s) }
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
        // Types here; the bounds (how many purposes, an expiry in the future by the vault's clock, a reveal
        // count from 1) are the vault's, checked by `TokenLimits.check` and answered with the same fields.
        if let p = m["purposes"], p != .null {
            let names = try Self.strings(p, field: "limits.purposes")
            var purposes: [Purpose] = []
            purposes.reserveCapacity(names.count)
            for (i, name) in names.enumerated() {
                purposes.append(
                    try Self.parse("limits.purposes", index: i) { () throws(VaultError) in try Purpose(name) }
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
            limits.expiresAt = seconds
        }
        if let r = m["max_reveals"], r != .null {
            // An integer is a number with an integral value (§6): 3 and 3.0 are both 3; 1e999 is out of range.
            // Any integer a double holds exactly converts; the vault checks the range.
            let n: Int?
            switch r {
            case .int(let i): n = Int(exactly: i)
            case .double(let d) where d.rounded() == d && d.magnitude <= 9_007_199_254_740_992: n = Int(d)
            default: n = nil
            }
            guard let n else {
                throw RPCError.invalidParams(
                    field: "limits.max_reveals",
                    reason: "must be an integer from 1 to 2147483647"
                )
            }
            limits.maxReveals = n
        }
        return limits
    }

    // MARK: Consent and restriction (§6.7 to §6.11)

    /// `purposes` of `consent.grant`: a required, non-empty array of purposes.
    func purposes() throws(RPCError) -> [Purpose] {
        try Self.purposes(try strings("purposes"))
    }

    /// `purposes` of `consent.withdraw`: the string `"*"` (every purpose), or a non-empty array of purposes.
    func withdrawnPurposes() throws(RPCError) -> ConsentPurposes {
        if case .string(let text)? = member("purposes") {
            guard text == "*" else {
                throw RPCError.invalidParams(
                    field: "purposes",
                    reason: "must be an array of purposes, or \"*\" for all"
                )
            }
            return .all
        }
        return .listed(try Self.purposes(try strings("purposes")))
    }

    private static func purposes(_ names: [String]) throws(RPCError) -> [Purpose] {
        var purposes: [Purpose] = []
        purposes.reserveCapacity(names.count)
        for (i, name) in names.enumerated() {
            purposes.append(try parse("purposes", index: i) { () throws(VaultError) in try Purpose(name) })
        }
        return purposes
    }

    func consentSource() throws(RPCError) -> ConsentSource {
        let s = try string("source")
        return try Self.parse("source") { () throws(VaultError) in try ConsentSource(s) }
    }

    /// `expires_at` of `consent.grant`: absent, or a *timestamp*; that it lies ahead is the vault's check.
    func consentExpiry() throws(RPCError) -> Int64? {
        guard let text = try optionalString("expires_at") else { return nil }
        guard let seconds = Self.timestamp(text) else {
            throw RPCError.invalidParams(field: "expires_at", reason: "must be a time like 2027-01-01T00:00:00Z")
        }
        return seconds
    }

    func restrictionReason() throws(RPCError) -> RestrictionReason {
        let s = try string("reason")
        return try Self.parse("reason") { () throws(VaultError) in try RestrictionReason(s) }
    }
}
