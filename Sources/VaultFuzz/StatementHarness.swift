import VaultCore

/// A statement file through `Statement.verify`, as `cvault statement verify` reads it, with no expected key
/// and with the harness keyring's audit key. Also checks the rule the format rests on: a file that verifies
/// is byte for byte the file the statement would write (two spellings of one statement must never both pass).
enum StatementHarness {
    static func run(_ bytes: [UInt8]) {
        if let statement = try? Statement.verify(fileBytes: bytes) {
            precondition(statement.fileBytes == bytes, "Statement.verify accepted a file that is not its own form")
        }
        _ = try? Statement.verify(fileBytes: bytes, publicKey: FuzzKeys.keyring.auditPublicKey)
    }
}
