import Foundation

/// The shared known-answer vectors: `$CVAULT_VECTORS/NAME` when that variable names a folder, else
/// `shared/vectors/NAME` beside the repository (the repository's parent holds `shared/`).
enum TestVectors {
    static func url(_ name: String) -> URL {
        if let folder = ProcessInfo.processInfo.environment["CVAULT_VECTORS"], !folder.isEmpty {
            return URL(fileURLWithPath: folder).appendingPathComponent(name)
        }
        let repository = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // VaultCoreTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // the repository
        return repository.deletingLastPathComponent()
            .appendingPathComponent("shared/vectors").appendingPathComponent(name)
    }

    static func load<T: Decodable>(_ type: T.Type, from name: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: url(name)))
    }
}
