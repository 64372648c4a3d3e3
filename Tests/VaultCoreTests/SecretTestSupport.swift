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
    let folder = try makePrivateTestFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    return try body(folder)
}

/// `withPrivateTestFolder` for a body that awaits (the keyring's changes do).
func withPrivateFolderAsync<T>(_ body: (String) async throws -> T) async throws -> T {
    let folder = try makePrivateTestFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    return try await body(folder)
}

private func makePrivateTestFolder() throws -> String {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("cvault-core-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(
        atPath: folder,
        withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700]
    )
    return folder
}
