import CSQLite
import VaultStoreRuntime

/// A value bound to a `?` parameter.
enum SQLValue {
    case int(Int64)
    case blob([UInt8])
    case text(String)
    case null

    static func int(_ value: Int) -> SQLValue { .int(Int64(value)) }
    static func optionalInt(_ value: Int64?) -> SQLValue { value.map { .int($0) } ?? .null }
    static func optionalText(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
}

/// One prepared statement: owns the `sqlite3_stmt*` and finalizes it in deinit. Confined to its
/// connection's thread like the connection that cached it.
final class Statement {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }

    deinit { sqlite3_finalize(handle) }

    /// Binds `arguments`, steps through every row calling `row` on each, then resets the statement and
    /// clears its bindings (so no bound bytes linger in the cache between uses). `what` names the
    /// operation in errors; bound values never appear in them.
    func run(
        _ arguments: [SQLValue],
        on connection: SQLiteConnection,
        what: String,
        row: (Row) throws -> Void
    ) throws {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for (offset, argument) in arguments.enumerated() {
            let rc = bind(argument, at: Int32(offset + 1))
            guard rc == SQLITE_OK else { throw connection.error(rc, what) }
        }
        while true {
            let rc = sqlite3_step(handle)
            switch rc {
            case SQLITE_ROW: try row(Row(handle: handle))
            case SQLITE_DONE: return
            default: throw connection.error(rc, what)
            }
        }
    }

    private func bind(_ value: SQLValue, at index: Int32) -> Int32 {
        switch value {
        case .int(let number):
            return sqlite3_bind_int64(handle, index, number)
        case .blob(let bytes):
            // A nil pointer would bind NULL, and an empty array may have no base address: bind an empty
            // blob explicitly so NOT NULL columns accept it.
            if bytes.isEmpty { return sqlite3_bind_zeroblob(handle, index, 0) }
            // TRANSIENT: SQLite copies the bytes now, since the array's storage is only lent to this call.
            return bytes.withUnsafeBytes { buffer in
                sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count), cvault_sqlite_transient())
            }
        case .text(let string):
            // The explicit byte count keeps the whole string, and TRANSIENT copies it before the C string
            // goes away.
            return string.withCString { pointer in
                sqlite3_bind_text(handle, index, pointer, Int32(string.utf8.count), cvault_sqlite_transient())
            }
        case .null:
            return sqlite3_bind_null(handle, index)
        }
    }
}

/// The current row of a statement being stepped; valid only inside the `row` callback of `Statement.run`.
struct Row {
    fileprivate let handle: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }

    func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    func blob(_ column: Int32) -> [UInt8] {
        // The pointer must be fetched before the length (SQLite's documented order), and is nil for an empty
        // blob.
        guard let pointer = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
}

extension SQLiteConnection {
    /// Runs a statement that returns no rows we need (DDL, INSERT, UPDATE, DELETE, transaction control).
    func execute(_ sql: String, _ arguments: [SQLValue] = [], what: String) throws {
        try statement(sql).run(arguments, on: self, what: what) { _ in }
    }

    /// Runs a query and maps every row.
    func query<Result>(
        _ sql: String,
        _ arguments: [SQLValue] = [],
        what: String,
        row map: (Row) throws -> Result
    ) throws -> [Result] {
        var results: [Result] = []
        try statement(sql).run(arguments, on: self, what: what) { results.append(try map($0)) }
        return results
    }

    /// Runs a query expected to return at most one row.
    func queryOne<Result>(
        _ sql: String,
        _ arguments: [SQLValue] = [],
        what: String,
        row map: (Row) throws -> Result
    ) throws -> Result? {
        try query(sql, arguments, what: what, row: map).first
    }
}

/// SQLite keeps bytes as blobs and yes/no as the integers 1 and 0.
extension Row: StoreRow {
    func bytes(_ column: Int32) -> [UInt8] { blob(column) }
    func flag(_ column: Int32) -> Bool { int64(column) == 1 }
}
