import VaultClient

/// Runs `body` with a client of the server on `path`, closing the connection afterwards whatever happens.
func withClient<T>(_ path: String, _ body: (VaultClient) async throws -> T) async throws -> T {
    let client = VaultClient(socketPath: path)
    do {
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}
