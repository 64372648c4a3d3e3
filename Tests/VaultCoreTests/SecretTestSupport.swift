import Foundation

@testable import VaultCore

extension Array where Element == UInt8 {
    /// Whether `needle` occurs as a contiguous run of bytes (a naive search; inputs here are small).
    func containsByteRun(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        for start in 0...(count - needle.count) where self[start] == needle[0] {
            if Array(self[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }
}

/// A fresh private folder under the temporary directory for one test, removed afterwards.
func withPrivateTestFolder<T>(_ body: (String) throws -> T) throws -> T {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("cvault-core-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(
        atPath: folder,
        withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700]
    )
    defer { try? FileManager.default.removeItem(atPath: folder) }
    return try body(folder)
}

/// Guarded-memory passphrase from a test string (the test's literal is not a secret).
func testPassphrase(_ text: String) -> SecureBytes {
    var bytes = Array(text.utf8)
    return SecureBytes(consuming: &bytes)
}

/// The permission bits of `path`.
func permissionBits(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}
