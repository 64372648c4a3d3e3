import Foundation

/// The few internals the fuzz harnesses (the `VaultFuzz` target) drive directly, at `package` access so they
/// stay out of the public API. Each one calls the real code path and adds nothing of its own, so what is
/// fuzzed is what `cvault` runs.
package enum FuzzEntryPoints {
    /// A keyring for harnesses, created with the fast test KDF (a fuzzing process makes one at start).
    package static func makeKeyring(at path: String) throws(VaultError) -> Keyring {
        var bytes = Array("fuzz harness passphrase, not a secret".utf8)
        return try Keyring.create(
            at: path,
            credential: .passphrase(SecureBytes(consuming: &bytes)),
            kdf: .fastForTests,
            now: Date(timeIntervalSince1970: 1_800_000_000)
        )
    }

    /// Where detokenize looks for `token` (`DetokenizeCall.Address`): its audit reference, look-up key and carried id.
    package static func tokenAddress(
        _ token: String,
        keyring: Keyring
    ) -> (reference: String, lookup: [UInt8]?, carriedID: Int64?) {
        let address = DetokenizeCall.Address(token: token, keyring: keyring)
        return (address.reference, address.lookup, address.carriedID)
    }

    /// `TokenFormat.carriedID` under the keyring's address key.
    package static func carriedID(_ token: String, keyring: Keyring) -> Int64? {
        TokenFormat.carriedID(token, key: keyring.addressKey)
    }

    /// The root-key unseal step of `Keyring.open` with shares, for a keyring file already read.
    package static func unsealWithShares(_ file: KeyringFile, shares: [UnsealShare], path: String) throws(VaultError) {
        _ = try Keyring.unsealRoot(file.seal, credential: .shares(shares), path: path)
    }

    /// `UnsealShare.combine` against a share set described by its id and threshold.
    package static func combine(_ shares: [UnsealShare], setID: String, threshold: Int) throws(VaultError) {
        _ = try UnsealShare.combine(shares, seal: .shamir(setID: setID, threshold: threshold, shares: nil))
    }

    /// A share built from its fields (for harnesses that need shares of a given set without a keyring).
    package static func share(setID: String, threshold: Int, index: UInt8, y: [UInt8]) -> UnsealShare {
        var y = y
        return UnsealShare(setID: setID, threshold: threshold, index: index, y: SecureBytes(consuming: &y))
    }

    /// The check field of a share whose first five fields are `body` (as `UnsealShare.encoded` writes it).
    package static func shareCheck(body: String) -> String {
        Hex.encode(BLAKE2b.hash(Array(body.utf8), outputLength: 16).prefix(8))
    }
}
