import Foundation
import Synchronization
import Testing
import VaultTestSupport

/// What one "server" of the server behaviour suites is (docs/SCALING.md, "How it is proven").
///
/// `Tools/test` runs those suites twice. The first time, as every other suite, each server a test starts is one
/// `cvault serve` on its own SQLite vault. The second time, with `CVAULT_TEST_SERVERS=postgres`, each is three
/// `cvault serve` processes on one fresh PostgreSQL database (from `CVAULT_TEST_POSTGRES`), each with folders and a
/// socket of its own as on a host of its own, and the test's connections go to them in turn: the same tests, the
/// same expectations, against several servers sharing one store. A test of one process's own limits says so
/// with `.oneServerProcessOnly` and runs in the first pass only; suites about SQLite's own files are not in
/// the second pass (the list is in `Tools/test`).
enum TestServers: Sendable, Equatable {
    case sqlite
    case postgres

    /// The variable that selects the second pass.
    static let variable = "CVAULT_TEST_SERVERS"

    /// From `CVAULT_TEST_SERVERS`: unset or `sqlite`, or `postgres`. Anything else fails every server test
    /// (never a silent fallback to SQLite).
    static let current: Result<TestServers, HarnessError> = {
        switch ProcessInfo.processInfo.environment[variable] ?? "sqlite" {
        case "sqlite", "": .success(.sqlite)
        case "postgres": .success(.postgres)
        case let other: .failure(HarnessError("\(variable) is \(other): set it to sqlite or postgres"))
        }
    }()

    /// The pass this run is, or a failure naming the bad setting.
    static func get() throws -> TestServers { try current.get() }

    /// Whether this run is the first pass (SQLite): what the one-process tests are enabled on.
    static var isSQLite: Bool { (try? get()) == .sqlite }

    /// How many `cvault serve` processes stand for one server.
    var processes: Int { self == .sqlite ? 1 : 3 }

    /// A fresh database for one server, or nil on SQLite.
    func makeDatabase() throws -> PostgresTestDatabase? {
        self == .postgres ? try PostgresTestDatabase.create() : nil
    }

    /// What process `index` of a server whose first process uses `environment` gets: on PostgreSQL, the store,
    /// and for every process but the first, keys and data folders of its own under `folder` (two servers never
    /// share one: each holds its own lock and pid file there).
    static func environment(
        _ environment: [String: String],
        database: PostgresTestDatabase?,
        process index: Int,
        folder: String
    ) -> [String: String] {
        guard let database else { return environment }
        var changed = environment
        changed["CVAULT_STORE"] = database.uri
        if index > 0 {
            changed["CVAULT_KEYS"] = folder + "/server-\(index)/keys"
            changed["CVAULT_DATA"] = folder + "/server-\(index)/data"
        }
        return changed
    }
}

/// The sockets of one server's processes, handed out in turn: each new connection a test makes goes to the
/// next process, so consecutive calls are served by different servers.
final class SocketRotation: Sendable {
    let paths: [String]
    private let next = Atomic<Int>(0)

    init(_ paths: [String]) {
        precondition(!paths.isEmpty, "a server has at least one socket")
        self.paths = paths
    }

    /// The next socket.
    func take() -> String {
        let turn = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return paths[turn % paths.count]
    }
}

extension Trait where Self == ConditionTrait {
    /// A test of one process's own limits (its connection caps), which connections spread over several
    /// processes cannot show: it runs in the SQLite pass only.
    static func oneServerProcessOnly(_ reason: Comment) -> Self {
        .enabled(if: TestServers.isSQLite, reason)
    }
}
