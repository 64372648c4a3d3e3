import Foundation

/// The published known-answer vectors, kept in the repository (`Tests/Fixtures/vectors`, whose README names
/// each file's source); `$CVAULT_VECTORS/NAME` instead when that variable names a folder.
enum TestVectors {
    static func url(_ name: String) -> URL {
        if let folder = ProcessInfo.processInfo.environment["CVAULT_VECTORS"], !folder.isEmpty {
            return URL(fileURLWithPath: folder).appendingPathComponent(name)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // VaultCoreTests
            .deletingLastPathComponent()  // Tests
            .appendingPathComponent("Fixtures/vectors").appendingPathComponent(name)
    }

    static func load<T: Decodable>(_ type: T.Type, from name: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: url(name)))
    }
}
