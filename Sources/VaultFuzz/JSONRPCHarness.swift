/// Request lines through the server's dispatcher. The input is split into lines as the server's frame
/// decoder splits a connection's bytes (at "\n", dropping one trailing "\r"), and line `n` is sent by
/// `FuzzWorkspace.uids[n % 3]`: first alice (every method), then a uid the policy does not know, then bob
/// (masked reveals, small limits). The answers are dropped; a trap or a hang is the finding.
enum JSONRPCHarness {
    static func run(_ bytes: [UInt8]) async {
        let workspace = await FuzzWorkspace.shared()
        let input = substitutingTokens(bytes, workspace.tokens)
        for (n, piece) in input.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            var line = Array(piece)
            if line.last == 0x0D { line.removeLast() }
            _ = await workspace.dispatcher.handle(line, uid: FuzzWorkspace.uids[n % FuzzWorkspace.uids.count])
        }
    }

    /// `@T0@` … `@T7@` replaced by the workspace's seed tokens (`FuzzWorkspace.seedValues`, in that order).
    static func substitutingTokens(_ bytes: [UInt8], _ tokens: [String]) -> [UInt8] {
        let at = UInt8(ascii: "@")
        let t = UInt8(ascii: "T")
        let zero = UInt8(ascii: "0")
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + 3 < bytes.count, bytes[i] == at, bytes[i + 1] == t, bytes[i + 3] == at,
                bytes[i + 2] >= zero, Int(bytes[i + 2] - zero) < tokens.count
            {
                out += tokens[Int(bytes[i + 2] - zero)].utf8
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}
