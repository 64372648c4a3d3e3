import ArgumentParser

/// The four option groups every data command takes, for the commands that need nothing else to pick their
/// side: `--socket` for a running server, else the vault's files (`SocketOption.operations`).
struct VaultSideOptions: ParsableArguments {
    @OptionGroup var socket: SocketOption
    @OptionGroup var location: VaultLocation
    @OptionGroup var unseal: UnsealOptions
    @OptionGroup var policy: PolicyOption

    var operations: any VaultOperations { socket.operations(location, unseal, policy) }
}
