import CLibPQ
import VaultCore
import VaultStoreRuntime

/// A value bound to a `$n` parameter, sent in binary: an integer as `int8`, bytes as `bytea`, text as
/// `text`. Binary, so bytes need no escaping and integers no formatting, and no parameter's value can ever be
/// echoed back in an error as text.
enum PostgresValue {
    case int(Int64)
    case bytes([UInt8])
    case text(String)
    /// NULL of the type with this OID: typed, so a statement prepared with a NULL argument has the same
    /// parameter types as with a value.
    case null(Oid)

    static let int8: Oid = 20
    static let bytea: Oid = 17
    static let textType: Oid = 25

    static func int(_ value: Int) -> PostgresValue { .int(Int64(value)) }
    static func optionalInt(_ value: Int64?) -> PostgresValue { value.map { .int($0) } ?? .null(int8) }
    static func optionalText(_ value: String?) -> PostgresValue { value.map { .text($0) } ?? .null(textType) }

    /// The type's OID, given to `PQprepare`.
    var typeOID: Oid {
        switch self {
        case .int: return Self.int8
        case .bytes: return Self.bytea
        case .text: return Self.textType
        case .null(let type): return type
        }
    }

    /// Appends the value's binary form to `buffer`; nil for NULL.
    func encode(into buffer: inout [UInt8]) -> Int? {
        switch self {
        case .int(let number):
            withUnsafeBytes(of: number.bigEndian) { buffer.append(contentsOf: $0) }
            return 8
        case .bytes(let bytes):
            buffer.append(contentsOf: bytes)
            return bytes.count
        case .text(let text):
            buffer.append(contentsOf: text.utf8)
            return text.utf8.count
        case .null:
            return nil
        }
    }
}

/// One row of a result, in binary, readable only inside the closure it is lent to (the result is freed
/// afterwards). Every accessor checks the column's type and length and throws `.storage` on a mismatch, so a
/// changed schema or a hostile server can never make a read trap or run past a buffer.
struct PostgresRow {
    let result: OpaquePointer
    let row: Int32

    func isNull(_ column: Int32) -> Bool { PQgetisnull(result, row, column) != 0 }

    /// `int2`, `int4` or `int8`.
    func int64(_ column: Int32) throws -> Int64 {
        let bytes = try raw(column)
        guard [2, 4, 8].contains(bytes.count), [PostgresValue.int8, 21, 23].contains(PQftype(result, column)) else {
            throw Self.mismatch(column, "an integer")
        }
        var value: Int64 = bytes.first.map { $0 & 0x80 != 0 ? -1 : 0 } ?? 0  // sign-extended
        for byte in bytes { value = (value << 8) | Int64(byte) }
        return value
    }

    func int(_ column: Int32) throws -> Int {
        let value = try int64(column)
        guard let narrowed = Int(exactly: value) else { throw Self.mismatch(column, "an integer") }
        return narrowed
    }

    func optionalInt64(_ column: Int32) throws -> Int64? { isNull(column) ? nil : try int64(column) }

    func bool(_ column: Int32) throws -> Bool {
        let bytes = try raw(column)
        guard bytes.count == 1, PQftype(result, column) == 16 else { throw Self.mismatch(column, "a boolean") }
        return bytes[0] != 0
    }

    func bytes(_ column: Int32) throws -> [UInt8] {
        guard PQftype(result, column) == PostgresValue.bytea else { throw Self.mismatch(column, "bytes") }
        return try raw(column)
    }

    /// `text` (binary text is its UTF-8 bytes).
    func text(_ column: Int32) throws -> String {
        guard PQftype(result, column) == PostgresValue.textType else { throw Self.mismatch(column, "text") }
        return String(decoding: try raw(column), as: UTF8.self)
    }

    func optionalText(_ column: Int32) throws -> String? { isNull(column) ? nil : try text(column) }

    private func raw(_ column: Int32) throws -> [UInt8] {
        guard column >= 0, column < PQnfields(result), !isNull(column) else {
            throw Self.mismatch(column, "a value")
        }
        let length = Int(PQgetlength(result, row, column))
        guard length > 0, let value = PQgetvalue(result, row, column) else { return [] }
        return value.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    private static func mismatch(_ column: Int32, _ expected: String) -> VaultError {
        VaultError(
            .storage,
            "the database answered column \(column) with something other than \(expected)",
            hint: "the schema was altered or is not cvault's; run `cvault verify`"
        )
    }
}

extension PostgresRow: StoreRow {
    func flag(_ column: Int32) throws -> Bool { try bool(column) }
}
