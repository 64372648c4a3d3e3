import VaultCore

/// A value through every kind's normalizer and validator (`Kind.normalize`), every mask (of the raw value,
/// which masks must survive, and of the normalized one), and the format-preserving token shapes built
/// from a normalized value.
enum KindsHarness {
    static func run(_ bytes: [UInt8]) {
        let value = String(decoding: bytes, as: UTF8.self)
        for kind in Kind.allCases {
            _ = Mask.mask(value, kind: kind)
            guard let normalized = try? kind.normalize(value, index: 0) else { continue }
            _ = Mask.mask(normalized, kind: kind)
            if kind.supports(.formatPreserving) {
                _ = TokenFormat.formatPreserving(kind: kind, normalized: normalized)
            }
        }
    }
}
