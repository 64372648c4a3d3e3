import Testing
import VaultCore

// MARK: - Expectations that never print a value

/// A detokenize answer as a failure message may show it: the mode or failure, and a value's length only.
public func redacted(_ item: RevealItem) -> String {
    switch item {
    case .value(let value, let mode): "value(\(mode.rawValue), \(value.count) characters)"
    case .error(let failure): "error(\(failure.rawValue))"
    }
}

public func redacted(_ items: [RevealItem]) -> String { "[" + items.map(redacted).joined(separator: ", ") + "]" }

/// Expects `got == expected` and, on a mismatch, reports both without their values.
public func expectItems(
    _ got: [RevealItem],
    _ expected: [RevealItem],
    _ context: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let same = got == expected
    let note = redacted(got) == redacted(expected) ? " (same shape, different value)" : ""
    #expect(
        same,
        "\(context) got \(redacted(got)), expected \(redacted(expected))\(note)",
        sourceLocation: sourceLocation
    )
}

/// The error `body` throws, or nil; expects it to be a `VaultError`.
public func vaultError(_ body: () async throws -> Void) async -> VaultError? {
    do {
        try await body()
        return nil
    } catch let error as VaultError {
        return error
    } catch {
        Issue.record("not a VaultError: \(type(of: error))")
        return nil
    }
}

/// Expects `text` not to contain `needle` (see `leaks`). Computed outside `#expect`, so a failure names `what`
/// and never prints either string.
public func expectNoLeak(
    _ text: String,
    _ needle: String,
    _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let leaked = leaks(text, needle)
    #expect(!leaked, "\(what())", sourceLocation: sourceLocation)
}

/// Expects `a == b` for values that must not be printed; a failure names `what` only.
public func expectSame<T: Equatable>(
    _ a: T,
    _ b: T,
    _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let same = a == b
    #expect(same, "\(what())", sourceLocation: sourceLocation)
}

/// True when `text` contains `needle` or, for needles of 8 or more characters, any 8 consecutive characters
/// of it (so a partial leak is caught too).
public func leaks(_ text: String, _ needle: String) -> Bool {
    let characters = Array(needle)
    guard characters.count >= 8 else { return !needle.isEmpty && text.contains(needle) }
    return (0...(characters.count - 8)).contains { start in
        let window = String(characters[start..<(start + 8)])
        return !window.allSatisfy(\.isWhitespace) && text.contains(window)
    }
}
