import Foundation

/// One Shamir share of a keyring's unseal secret, as written to its own file or printed once:
///
///     cvault-share-v1 <set id, 16 hex> <threshold> <index> <y, 64 hex> <check, 16 hex>
///
/// `set id` ties the share to one keyring's share set (so a share of another vault is named as such);
/// `check` is BLAKE2b-64 of everything before it, so a mistyped or corrupted share is caught before any
/// combination is tried. Neither is secret; `y` is.
public struct UnsealShare: Sendable, CustomStringConvertible {
    public let setID: String
    public let threshold: Int
    public let index: UInt8
    let y: SecureBytes

    init(setID: String, threshold: Int, index: UInt8, y: SecureBytes) {
        self.setID = setID
        self.threshold = threshold
        self.index = index
        self.y = y
    }

    static let prefix = "cvault-share-v1"
    /// The thresholds a share or a share-sealed keyring may name (GF(2^8) has 255 non-zero points).
    static let thresholds = 2...255

    public var description: String { "UnsealShare(set \(setID), \(index) of threshold \(threshold), redacted)" }

    /// The share's text. Holds secret material: write it once, to its holder.
    public func encoded() -> String {
        let body = "\(Self.prefix) \(setID) \(threshold) \(index) " + y.withUnsafeBytes { Hex.encode($0) }
        return body + " " + Hex.encode(BLAKE2b.hash(Array(body.utf8), outputLength: 16).prefix(8))
    }

    /// Parses a share; `source` (a file name or "share 2") names it in errors, never its content.
    public static func parse(_ text: String, source: String) throws(VaultError) -> UnsealShare {
        var bytes = Array(text.utf8)
        defer { ConstantTime.wipe(&bytes) }
        return try bytes.withUnsafeBytes { raw in
            Result { () throws(VaultError) in try parse(bytes: raw, source: source) }
        }.get()
    }

    /// Parses a share straight from the bytes it was read into (a file or prompt buffer the caller wipes), so
    /// its secret part never passes through a `String`: fields are found in place, the check is computed over
    /// a guarded copy of the body, and `y` is decoded into guarded memory.
    public static func parse(bytes: UnsafeRawBufferPointer, source: String) throws(VaultError) -> UnsealShare {
        let notAShare = VaultError(
            .invalidRequest,
            "\(source) is not a cvault unseal share",
            hint: "give a share file written when the vault was split into shares (`cvault init`)"
        )
        let malformed = VaultError(
            .invalidRequest,
            "\(source) is malformed",
            hint: "copy the share again from its original"
        )
        // Fields: runs of bytes other than ASCII white space (as `split` on spaces after trimming would give).
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        var fields: [Range<Int>] = []
        var start: Int?
        for i in 0...bytes.count {
            let space = i == bytes.count || isSpace(bytes[i])
            if space, let s = start {
                fields.append(s..<i)
                start = nil
            } else if !space, start == nil {
                start = i
            }
        }
        func text(_ range: Range<Int>) -> String {
            String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        }
        guard fields.count == 6, text(fields[0]) == prefix else { throw notAShare }
        // The check covers the first five fields joined by single spaces, rebuilt in guarded memory.
        let bodyCount = fields[0..<5].reduce(4) { $0 + $1.count }
        let body = SecureBytes.filled(count: bodyCount) { out in
            var at = 0
            for (n, range) in fields[0..<5].enumerated() {
                if n > 0 {
                    out[at] = 0x20
                    at += 1
                }
                for i in range {
                    out[at] = bytes[i]
                    at += 1
                }
            }
        }
        let check = body.withUnsafeBytes { BLAKE2b.hash($0, outputLength: 16) }.prefix(8)
        // The check digits are not secret (a checksum of the text, against typing mistakes): a plain compare.
        guard Hex.encode(check) == text(fields[5]) else {
            throw VaultError(
                .invalidRequest,
                "\(source) is corrupted (its check digits do not match)",
                hint: "copy the share again from its original; one wrong character is enough to fail"
            )
        }
        guard let threshold = Int(text(fields[2])), thresholds.contains(threshold), let index = UInt8(text(fields[3])),
            index > 0,
            fields[4].count == 64
        else { throw malformed }
        let hex = UnsafeRawBufferPointer(rebasing: bytes[fields[4]])
        var valid = true
        let y = SecureBytes.filled(count: 32) { out in
            for i in 0..<32 {
                guard let hi = Hex.nibble(hex[2 * i]), let lo = Hex.nibble(hex[2 * i + 1]) else {
                    valid = false
                    return
                }
                out[i] = hi << 4 | lo
            }
        }
        guard valid else { throw malformed }
        return UnsealShare(setID: text(fields[1]), threshold: threshold, index: index, y: y)
    }

    /// Recovers the unseal secret, checking the share set first: enough distinct shares of one set.
    static func combine(_ shares: [UnsealShare], seal: SealInfo) throws(VaultError) -> SecureBytes {
        guard let threshold = seal.threshold, let setID = seal.salt else {
            throw VaultError(.keyring, "the keyring is not sealed by shares", hint: "open it with its passphrase")
        }
        // The threshold is read from the file before anything authenticates it: one edited to 0 or less once
        // made the interpolation below run on no share at all, and trap.
        guard thresholds.contains(threshold) else {
            throw VaultError(
                .keyring,
                "the keyring names a share threshold of \(threshold); thresholds are 2 to 255",
                hint: "the keyring was altered; restore it from its backup"
            )
        }
        for share in shares where share.setID != setID {
            throw VaultError(
                .invalidRequest,
                "share \(share.index) belongs to another vault's share set",
                hint: "use the shares written when this vault's keyring was created"
            )
        }
        let indices = shares.map(\.index)
        guard Set(indices).count == indices.count else {
            throw VaultError(
                .invalidRequest,
                "the same share was given more than once (share \(duplicate(indices)!))",
                hint: "give \(threshold) different shares"
            )
        }
        guard shares.count >= threshold else {
            throw VaultError.tooFew(
                .wrongPassphrase,
                "\(shares.count) share(s) given; this keyring needs \(threshold)",
                hint: "give \(threshold) different shares",
                field: .unsealShares,
                required: threshold
            )
        }
        return Shamir.combine(shares.prefix(threshold).map { ($0.index, $0.y) })
    }

    private static func duplicate(_ indices: [UInt8]) -> UInt8? {
        var seen = Set<UInt8>()
        return indices.first { !seen.insert($0).inserted }
    }
}
