import Logging
import NIOCore
import VaultCore

/// The server's request handling without a socket, for the fuzz harnesses (the `VaultFuzz` target): one
/// request line (without its newline) and the caller's uid in, the answer line out, through the same
/// `RPCDispatcher` that `cvault serve` runs. `package` access keeps it out of the public API.
package struct DispatcherEntryPoint: Sendable {
    private let dispatcher: RPCDispatcher
    private let allocator = ByteBufferAllocator()

    /// `maxResponseBytes` as `cvault serve --max-response-bytes` (its default unless given).
    package init(
        vault: Vault,
        logger: Logger,
        maxResponseBytes: Int = VaultServer.Configuration.defaultMaxResponseBytes
    ) {
        dispatcher = RPCDispatcher(vault: vault, logger: logger, maxResponseBytes: maxResponseBytes)
    }

    /// The response line (nil for blank lines and notifications) and whether the server would then close
    /// the connection.
    package func handle(_ line: [UInt8], uid: UInt32) async -> (response: String?, close: Bool) {
        let outcome = await dispatcher.handle(line, uid: uid, allocator: allocator)
        return (outcome.response.map { String(buffer: $0) }, outcome.close)
    }
}
