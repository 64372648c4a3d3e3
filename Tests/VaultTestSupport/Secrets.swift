import Foundation
import VaultCore

/// Guarded memory holding a test string (the test's literal is not a secret).
public func testPassphrase(_ text: String) -> SecureBytes {
    var bytes = Array(text.utf8)
    return SecureBytes(consuming: &bytes)
}

/// The permission bits of `path` (0o600, …); -1 if they cannot be read.
public func permissionBits(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

/// A fresh folder for one test (mode 0700, from mkdtemp), removed afterwards.
@discardableResult
public func withTemporaryFolder<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array((NSTemporaryDirectory() + "cvault-test-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw VaultError(.internal, "mkdtemp failed") }
    let folder = String(cString: made)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    return try await body(folder)
}
