/// The few internals the benchmarks (`cvault bench report`) drive directly, at `package` access so they stay
/// out of the public API. They write through the real paths (`AuditChain.append` in the vault's own writes,
/// sealed as every write is), only many records to a transaction, so a large log is built in seconds rather
/// than in the hours a call per record would take.
package enum BenchEntryPoints {
    /// Appends `count` detokenize records by `caller` for `purpose`, `perWrite` to a write transaction. Record
    /// `i` names `1 + i % 4` tokens, of the subjects `others` cycles through, and, when `i` is a multiple of
    /// `every`, one more of `target` (plain): a log in which `target`'s records are one in `every`, spread over
    /// all of it. Tokens are named by made-up references (`ref:` + 32 hex digits), as records name them.
    /// Returns how many records concern `target`.
    package static func appendDetokenizeHistory(
        to vault: Vault,
        count: Int,
        perWrite: Int,
        target: Subject,
        every: Int,
        others: [Subject],
        caller: Caller,
        purpose: Purpose
    ) async throws(VaultError) -> Int {
        let keyring = vault.keyring
        let targetReference = keyring.subjectReference(target)
        let references = others.map { keyring.subjectReference($0) }
        let sealer = vault.auditSealer
        let now = vault.clock.now()
        let perWrite = max(1, perWrite)
        let every = max(1, every)
        var concerning = 0
        var start = 0
        while start < count {
            let range = start..<min(count, start + perWrite)
            concerning += range.filter { $0 % every == 0 }.count
            _ = try await vault.write { writer in
                for i in range {
                    var event = AuditEvent(.detokenize, by: caller, at: now)
                    event.purpose = purpose.name
                    var items: [AuditItem] = []
                    for j in 0...(i % 4) where !references.isEmpty {
                        let subject = event.refer(to: references[(i &* 7 &+ j &* 13) % references.count])
                        items.append(
                            AuditItem(token: madeUpReference(i, j), kind: "email", decision: .plain, subject: subject)
                        )
                    }
                    if i % every == 0 {
                        let subject = event.refer(to: targetReference)
                        items.append(
                            AuditItem(token: madeUpReference(i, 9), kind: "email", decision: .plain, subject: subject)
                        )
                    }
                    event.items = items
                    event.count = items.count
                    try AuditChain.append(event, to: writer, sealer: sealer, now: now)
                }
            }
            start = range.upperBound
        }
        return concerning
    }

    /// A token reference of the shape records hold, distinct per (`i`, `j`).
    private static func madeUpReference(_ i: Int, _ j: Int) -> String {
        let n = UInt64(truncatingIfNeeded: i) &* 10 &+ UInt64(truncatingIfNeeded: j)
        let hex = String(n, radix: 16)
        return "ref:" + String(repeating: "0", count: max(0, 32 - hex.count)) + hex
    }
}
