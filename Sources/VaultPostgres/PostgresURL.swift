import CLibPQ
import VaultCore

/// A PostgreSQL connection URI (`postgres://…` or `postgresql://…`), checked once where it enters and then
/// passed around as this type, so nothing else parses one.
///
/// The raw text goes only to libpq (`PQconnectdb`): `sslmode`, `sslrootcert`, `target_session_attrs`, the
/// `PG*` environment variables, `~/.pgpass` and service files all work as libpq documents them, untouched.
/// Everything a person can see (`description`, every error) is `redacted`: the URI with any password, in the
/// user part or as a `password=` parameter, left out.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    /// The URI as given: for libpq only, never for a message.
    let raw: String
    /// The URI without its password: what logs, errors and `status` show.
    public let redacted: String
    /// The password the URI itself carries (percent-decoded), if any: errors are scrubbed of it.
    let password: String?

    /// Fails with `.invalidRequest` unless `text` is a URI libpq accepts with one of the two schemes. The error
    /// names neither the URI nor libpq's complaint about it (which could quote the password).
    public init(_ text: String) throws {
        guard let rest = Self.stripScheme(text) else {
            throw VaultError(
                .invalidRequest,
                "a PostgreSQL store is named by a URI starting with postgres:// or postgresql://",
                hint: "for example postgresql://cvault@db.example/cvault?sslmode=verify-full"
            )
        }
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(text, &message) else {
            if let message { PQfreemem(message) }
            throw VaultError(
                .invalidRequest,
                "the PostgreSQL URI is not one libpq accepts",
                hint: "check its form against the libpq documentation (connection URIs); percent-encode special "
                    + "characters in the user name and password"
            )
        }
        var password: String?
        var misread = false
        var option = options
        while let keyword = option.pointee.keyword {
            let name = String(cString: keyword)
            if let value = option.pointee.val.map({ String(cString: $0) }) {
                switch name {
                case "password": password = value
                // A password libpq read as a port (no '@' after it) or an '@' left in the host or database
                // name (an unencoded '/' in the password) would be shown by `redacted`: refused instead.
                case "port": misread = misread || !value.allSatisfy { $0 == "," || ("0"..."9").contains($0) }
                case "host", "dbname": misread = misread || value.contains("@")
                default: break
                }
            }
            option += 1
        }
        PQconninfoFree(options)
        guard !misread else {
            throw VaultError(
                .invalidRequest,
                "the PostgreSQL URI's user, password or host part is malformed",
                hint: "write it as postgresql://user:password@host:port/dbname, percent-encoding any '@', '/', ':' "
                    + "or '?' in the user name and password"
            )
        }
        self.raw = text
        self.password = password.flatMap { $0.isEmpty ? nil : $0 }
        self.redacted = Self.redact(scheme: String(text.prefix(text.count - rest.count)), rest: rest)
    }

    public var description: String { redacted }

    /// `message` with every occurrence of the password replaced: libpq's messages name hosts and users, never
    /// the password, but nothing is taken on trust.
    func scrub(_ message: String) -> String {
        guard let password else { return message }
        return message.replacing(password, with: "[redacted]")
    }

    private static func stripScheme(_ text: String) -> Substring? {
        for scheme in ["postgresql://", "postgres://"] where text.hasPrefix(scheme) {
            return text.dropFirst(scheme.count)
        }
        return nil
    }

    /// Drops `:password` from the user part and any `password` parameter. The user part ends at the first `@`
    /// before any `/`, as libpq reads it.
    private static func redact(scheme: String, rest: Substring) -> String {
        var remainder = rest
        var user = ""
        if let at = remainder.firstIndex(where: { $0 == "@" || $0 == "/" }), remainder[at] == "@" {
            let userInfo = remainder[..<at]
            user = String(userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]) + "@"
            remainder = remainder[remainder.index(after: at)...]
        }
        guard let question = remainder.firstIndex(of: "?") else { return scheme + user + remainder }
        let parameters = remainder[remainder.index(after: question)...].split(separator: "&").filter { pair in
            let key = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            return percentDecoded(key).lowercased() != "password"
        }
        let query = parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&")
        return scheme + user + remainder[..<question] + query
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
