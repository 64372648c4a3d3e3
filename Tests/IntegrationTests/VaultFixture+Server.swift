import Foundation

extension VaultFixture {
    /// Runs `body` with a server of this vault (with `extra` serve options) on a short socket path, then
    /// removes the socket's folder: one `cvault serve`, or in the PostgreSQL pass three on the vault's
    /// database, taking `server.socket` in turn (`TestServers`). `body` stops the server itself when it wants
    /// its exit status; otherwise it is stopped here.
    func withServer<T>(extra: [String] = [], _ body: (ServerProcess) async throws -> T) async throws -> T {
        let folder = try makeSocketFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let count = postgres == nil ? 1 : TestServers.postgres.processes
        let server = try await ServerProcess.start(
            processes: (0..<count).map { (environment(process: $0), folder + "/s\($0).sock") },
            folder: root,
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
