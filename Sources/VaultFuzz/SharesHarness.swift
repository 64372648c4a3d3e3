import VaultCore

/// Lines of share text through `UnsealShare.parse`, and the shares that parse through `UnsealShare.combine`
/// (set and duplicate checks, then Shamir interpolation). A line whose last field is `?` gets its correct
/// check field instead, so the fuzzer also reaches the field rules behind the check (a random edit would
/// almost never keep the check valid).
enum SharesHarness {
    static func run(_ bytes: [UInt8]) {
        var shares: [UnsealShare] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if let share = try? UnsealShare.parse(withCheck(String(line)), source: "fuzz share") {
                shares.append(share)
            }
        }
        guard let first = shares.first else { return }
        _ = try? FuzzEntryPoints.combine(shares, setID: first.setID, threshold: first.threshold)
    }

    static func withCheck(_ line: String) -> String {
        guard line.hasSuffix(" ?") else { return line }
        let body = String(line.dropLast(2))
        return body + " " + FuzzEntryPoints.shareCheck(body: body)
    }
}
