import Foundation

extension VaultFixture {
    /// Runs `body` with a `cvault serve` of this vault (with `extra` serve options) on a short socket path,
    /// then removes the socket's folder. `body` stops the server itself when it wants its exit status;
    /// otherwise it is stopped here.
    func withServer<T>(extra: [String] = [], _ body: (ServerProcess) async throws -> T) async throws -> T {
        let folder = try makeSocketFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let server = try await ServerProcess.start(
            environment: environment,
            folder: root,
            socket: folder + "/s.sock",
            extra: extra
        )
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }
}
