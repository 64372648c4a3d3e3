import VaultCore

/// Which store holds the vault's rows, chosen once at the edge (`VaultLocation.storeLocation()`): the embedded
/// SQLite database in the data folder (the default), or a PostgreSQL database that several servers share.
enum StoreLocation: Sendable, CustomStringConvertible {
    case sqlite(databasePath: String)
    case postgres(PostgresURL)

    /// Where the store is, for output: the database file, or the connection string without its password.
    var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let url): url.redacted
        }
    }
}

/// A libpq connection URI (`postgres://` or `postgresql://`), checked once when parsed. It holds the password
/// when the URI gives one, so it never prints itself whole: `description` is `redacted`, and only the store's
/// connection code reads `connectionString`.
struct PostgresURL: Sendable, CustomStringConvertible {
    /// The URI as given, password included. Only for connecting.
    let connectionString: String
    /// The URI as it may be shown: scheme, user, host, port and database, and of the query only the parameters
    /// that name where and how to connect (`shownParameters`); never a password.
    let redacted: String

    static let schemes = ["postgresql://", "postgres://"]
    /// Query parameters shown by `redacted`. Default deny: one not listed (a `password`, an `sslpassword`,
    /// a parameter a later libpq adds) is left out.
    static let shownParameters: Set<String> = ["host", "hostaddr", "port", "dbname", "user", "sslmode"]

    /// What every usage error about a store says is accepted.
    static let accepted =
        "a PostgreSQL connection URI, postgresql://[user[:password]@][host][:port][/dbname][?param=value&…] "
        + "(or postgres://…); without --store or CVAULT_STORE the vault is the SQLite database in the --data folder"

    /// Parses `text`; nil when it is not a `postgres://` or `postgresql://` URI (`accepted` says what is).
    init?(parsing text: String) {
        guard let scheme = Self.schemes.first(where: { text.hasPrefix($0) }),
            !text.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F })
        else { return nil }
        // Split as libpq does (conninfo_uri_parse_options): the user information runs to an '@' met before
        // any '/' (a '?' in a password is fine), the host list to the next '/' or '?', the database name to '?'.
        var rest = text.dropFirst(scheme.count)
        var user: Substring?
        if let stop = rest.firstIndex(where: { $0 == "@" || $0 == "/" }), rest[stop] == "@" {
            user = rest[..<stop].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first
            rest = rest[rest.index(after: stop)...]
        }
        let queryStart = rest.firstIndex(of: "?") ?? rest.endIndex
        let hostAndPath = rest[..<queryStart]
        // An '@' after the host means a password holding an unencoded '/', which libpq would take for a host
        // name: refused, so that no part of it can reach `redacted`.
        guard !hostAndPath.contains("@") else { return nil }
        // So does a port that is not a number ("postgresql://user:secret" without its '@').
        let hosts = hostAndPath.prefix { $0 != "/" }
        for host in hosts.split(separator: ",") {
            let afterBracket = host.lastIndex(of: "]").map { host[$0...] } ?? host
            if let colon = afterBracket.firstIndex(of: ":"),
                !afterBracket[afterBracket.index(after: colon)...].allSatisfy(\.isASCIIDigit)
            {
                return nil
            }
        }
        var shown = scheme
        if let user, !user.isEmpty { shown += user + "@" }
        shown += hostAndPath
        if queryStart < rest.endIndex {
            let parameters = rest[rest.index(after: queryStart)...].split(separator: "&").filter { pair in
                let name = pair.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
                return Self.shownParameters.contains(name)
            }
            if !parameters.isEmpty { shown += "?" + parameters.joined(separator: "&") }
        }
        self.connectionString = text
        self.redacted = shown
    }

    var description: String { redacted }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
