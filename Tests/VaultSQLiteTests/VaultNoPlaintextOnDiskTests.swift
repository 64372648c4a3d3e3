import Foundation
import Testing
import VaultTestSupport

@testable import VaultCore

/// No file the vault writes (database, WAL, shared memory, keyring, anything else in its folders) ever holds
/// a value it was given, in the form given or normalized, nor a mask or a format-preserving token.
@Suite struct VaultNoPlaintextOnDiskTests {
    /// A byte string to look for, and a label that says what it is without showing it.
    struct Needle {
        let label: String
        let bytes: [UInt8]
        init(_ label: String, _ text: String) {
            self.label = label
            self.bytes = Array(text.utf8)
        }
    }

    /// A hit: which file holds which needle (by label).
    struct Hit: Equatable, CustomStringConvertible {
        let file: String
        let label: String
        var description: String { "\(label) in \((file as NSString).lastPathComponent)" }
    }

    /// Every regular file under `folder`, recursively, with its size.
    static func files(under folder: String) -> [(path: String, size: Int)] {
        let enumerator = FileManager.default.enumerator(atPath: folder)
        var found: [(String, Int)] = []
        while let relative = enumerator?.nextObject() as? String {
            let path = folder + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            found.append((path, (FileManager.default.contents(atPath: path) ?? Data()).count))
        }
        return found
    }

    static func scan(_ folder: String, for needles: [Needle]) -> [Hit] {
        var hits: [Hit] = []
        for (path, _) in files(under: folder) {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            for needle in needles where data.range(of: Data(needle.bytes)) != nil {
                hits.append(Hit(file: path, label: needle.label))
            }
        }
        return hits
    }

    /// Values tokenized for a subject that is then erased.
    static let erasedValues: [(Kind, String)] = [
        (.email, "Erasmus.Gone@Example.NET"), (.name, "Erasmus Gonewithwind"), (.text, "erase me: blue-heron-7741"),
        (.card, luhnCard(prefix: "601155", length: 16)), (.phone, "+33 1 42 68 53 00"),
    ]

    @Test(arguments: TokenMode.allCases)
    func noValueReachesAnyFile(mode: TokenMode) async throws {
        try await withVault(serviceYAML(mode: mode), on: .sqlite) { t in
            let svc = try t.caller(UID.service)
            var needles: [Needle] = []
            var tokens: [String] = []
            for sample in Sample.all {
                needles.append(Needle("\(sample.kind) as sent", sample.raw))
                needles.append(Needle("\(sample.kind) normalized", sample.normalized))
                // Masks of 5 or more bytes (a 4-digit year could turn up in random bytes by chance).
                if sample.masked != Mask.redacted, sample.masked.utf8.count >= 5 {
                    needles.append(Needle("\(sample.kind) mask", sample.masked))
                }
                tokens += try await t.tokenize(sample.kind, [sample.raw], subject: "cust-1", as: svc)
            }
            // With token limits (deterministic tokens take none: they are shared) and an idempotency key, replayed once.
            let limits =
                mode == .deterministic
                ? TokenLimits.none
                : TokenLimits(purposes: ["charge"], expiresAt: t.clock.now + 86_400, maxReveals: 2)
            let limited = TokenizeRequest(
                kind: .card,
                subject: "cust-2",
                values: [luhnCard(prefix: "3782", length: 15)],
                limits: limits,
                idempotencyKey: "order-77"
            )
            needles.append(Needle("limited card", limited.values[0]))
            let limitedTokens = try await t.vault.tokenize(limited, caller: svc)
            #expect(try await t.vault.tokenize(limited, caller: svc) == limitedTokens)
            tokens += limitedTokens
            for (kind, value) in Self.erasedValues {
                needles.append(Needle("erased \(kind)", value))
                needles.append(Needle("erased \(kind) normalized", try kind.normalize(value, index: 0)))
                _ = try await t.tokenize(kind, [value], subject: "cust-3", as: svc)
            }
            // A database holds no format-preserving token strings (a card's keeps its last four digits).
            if mode == .formatPreserving {
                for (sample, token) in zip(Sample.all, tokens) where sample.kind.supports(.formatPreserving) {
                    needles.append(Needle("\(sample.kind) token", token))
                }
            }
            // Reveals, plain and masked, a limited reveal, and an erase.
            _ = try await t.vault.detokenize(Array(tokens.prefix(Sample.all.count)), purpose: "view", caller: svc)
            _ = try await t.vault.detokenize(Array(tokens.prefix(Sample.all.count)), purpose: "glance", caller: svc)
            expectItems(
                try await t.vault.detokenize(limitedTokens, purpose: "charge", caller: svc),
                [.value(limited.values[0], .plain)]
            )
            #expect(try await t.vault.erase(subject: "cust-3", caller: svc).erased == Self.erasedValues.count)
            try await t.vault.sealAudit()

            // Open: recent rows live in the WAL, which must exist and have been scanned.
            let walSize = Self.files(under: t.folder).first { $0.path == t.databasePath + "-wal" }?.size ?? 0
            #expect(walSize > 0, "the WAL should hold this test's writes while the store is open")
            #expect(Self.scan(t.folder, for: needles) == [], "while open")

            // The scan can fail: a value written to a decoy file in the same folder is found, and only there.
            let decoy = t.folder + "/data/decoy.bin"
            let planted = needles[1]
            try Data([0x00, 0x01] + planted.bytes + [0xff]).write(to: URL(fileURLWithPath: decoy))
            #expect(Self.scan(t.folder, for: needles) == [Hit(file: decoy, label: planted.label)])
            try FileManager.default.removeItem(atPath: decoy)

            // Closed: the WAL has been checkpointed into the database file.
            await t.close()
            #expect(Self.files(under: t.folder).contains { $0.path == t.databasePath }, "the database file is scanned")
            #expect(Self.scan(t.folder, for: needles) == [], "after close")
        }
    }
}
