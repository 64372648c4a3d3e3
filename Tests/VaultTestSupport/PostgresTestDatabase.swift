import Foundation
import Testing

/// A database of its own on the test cluster, for one test: `CREATE DATABASE cvault_test_<random>` before,
/// `DROP DATABASE … WITH (FORCE)` after. The cluster is named by the environment variable
/// `CVAULT_TEST_POSTGRES`, a libpq URI of its maintenance database (`Tools/test` starts a private cluster and
/// sets it). Talks to PostgreSQL only through the `psql` program, so test support links no libpq.
public struct PostgresTestDatabase: Sendable {
    /// The variable naming the test cluster.
    public static let variable = "CVAULT_TEST_POSTGRES"

    /// The test database's name.
    public let name: String
    /// A libpq URI of the test database.
    public let uri: String
    /// The cluster's maintenance database, from `CVAULT_TEST_POSTGRES`.
    public let clusterURI: String

    /// The cluster's URI, or a failure saying how to get one: a test that needs PostgreSQL never skips silently.
    public static func clusterURI() throws -> String {
        guard let uri = ProcessInfo.processInfo.environment[variable], !uri.isEmpty else {
            throw PostgresTestError(
                "\(variable) is not set: the PostgreSQL tests need a test cluster; run them with `Tools/test`, "
                    + "which starts one"
            )
        }
        return uri
    }

    /// Creates a fresh, empty database on the test cluster.
    public static func create() throws -> PostgresTestDatabase {
        let cluster = try clusterURI()
        let name = "cvault_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try psql(cluster, "CREATE DATABASE \(name)")
        return PostgresTestDatabase(name: name, uri: replacingDatabase(in: cluster, with: name), clusterURI: cluster)
    }

    /// Lends `body` a fresh database and drops it afterwards, whatever `body` did.
    public static func with<T>(_ body: (PostgresTestDatabase) async throws -> T) async throws -> T {
        let database = try create()
        do {
            let result = try await body(database)
            try database.drop()
            return result
        } catch {
            try? database.drop()
            throw error
        }
    }

    /// Drops the database, ending any session still connected to it.
    public func drop() throws {
        try Self.psql(clusterURI, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs `sql` in this database (as the cluster's user), failing on the first error; returns psql's
    /// output, unaligned and without headers.
    @discardableResult
    public func run(_ sql: String) throws -> String { try Self.psql(uri, sql) }

    /// Runs `sql` in this database as `user` (a role the test made; the test cluster trusts local logins).
    @discardableResult
    public func run(_ sql: String, as user: String) throws -> String { try Self.psql(uri(user: user), sql) }

    /// Runs `sql` in the cluster's maintenance database (roles are the cluster's, not a database's).
    @discardableResult
    public func runOnCluster(_ sql: String) throws -> String { try Self.psql(clusterURI, sql) }

    /// This database's URI with another user, for a role the test made.
    public func uri(user: String) -> String {
        var components = URLComponents(string: uri)
        var items = (components?.queryItems ?? []).filter { $0.name != "user" }
        items.append(URLQueryItem(name: "user", value: user))
        components?.queryItems = items
        return components?.string ?? uri
    }

    /// The cluster URI with its database part (the path) replaced.
    static func replacingDatabase(in uri: String, with database: String) -> String {
        guard var components = URLComponents(string: uri) else { return uri }
        components.path = "/" + database
        return components.string ?? uri
    }

    @discardableResult
    static func psql(_ uri: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "--no-psqlrc", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", uri]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try launch(process)
        input.fileHandleForWriting.write(Data(sql.utf8))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PostgresTestError(
                "psql failed (\(process.terminationStatus)): \(String(decoding: err, as: UTF8.self))"
            )
        }
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A failure of the PostgreSQL test set-up.
public struct PostgresTestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
