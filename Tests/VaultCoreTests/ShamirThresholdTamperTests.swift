import Foundation
import Testing

@testable import VaultCore

/// A share-sealed keyring whose threshold was edited outside 2...255 is refused as altered when opened with
/// shares; it never traps. Found by the `keyring` fuzz target (Tests/Fixtures/fuzz/keyring/crash-a2d4b5598b634f5e):
/// with threshold 0, `UnsealShare.combine` passed no share to `Shamir.combine`, which read the first one.
@Suite struct ShamirThresholdTamperTests {
    @Test("an edited threshold outside 2...255 is a keyring error", arguments: [0, -1, 1, 256, Int.max, Int.min])
    func anEditedThresholdIsRefused(_ threshold: Int) throws {
        try withPrivateTestFolder { folder in
            let (keyring, shares) = try ShamirKeyringTests.make(folder, threshold: 2, count: 3)
            var json =
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: keyring.path)))
                as! [String: Any]
            var seal = json["seal"] as! [String: Any]
            seal["threshold"] = threshold
            json["seal"] = seal
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: keyring.path))
            let error = #expect(throws: VaultError.self) {
                _ = try ShamirKeyringTests.open(keyring, Array(shares.prefix(2)))
            }
            #expect(error?.code == .keyring)
            #expect(error?.message.contains("share threshold of \(threshold)") == true)
        }
    }
}
