import Testing

@testable import VaultCore

/// Shared checks for the kinds' rules.
enum ValueCheck {
    /// The error `kind.normalize` throws for `value`, or nil if it accepts it.
    static func rejection(_ kind: Kind, _ value: String, index: Int = 7) -> VaultError? {
        do throws(VaultError) {
            _ = try kind.normalize(value, index: index)
            return nil
        } catch {
            return error
        }
    }

    /// Expects `kind` to reject `value` with a reason containing `reason`, and the error to hold no part
    /// of the value (`window` consecutive characters or more). Random values, such as format-preserving
    /// tokens, need a longer window: 5 random letters turn up in English text ("recei" in "receive") about
    /// once in a few hundred thousand tries.
    static func expectRejected(
        _ kind: Kind,
        _ value: String,
        reason: String,
        window: Int = 5,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error = rejection(kind, value) else {
            Issue.record("\(kind) accepted a value it should reject", sourceLocation: sourceLocation)
            return
        }
        #expect(error.code == .invalidValue, sourceLocation: sourceLocation)
        #expect(error.index == 7, sourceLocation: sourceLocation)
        #expect(error.message.hasPrefix("\(kind.rawValue) value at index 7: "), sourceLocation: sourceLocation)
        #expect(error.message.contains(reason), "message: \(error.message)", sourceLocation: sourceLocation)
        #expect(
            !leaks(error.description, value, window: window),
            "description quotes the value: \(error.description)",
            sourceLocation: sourceLocation
        )
    }

    /// True when `text` contains the value, or (for values of `window` or more characters) any `window`
    /// consecutive characters of it. Whitespace around the value is ignored, and so are windows of only
    /// whitespace.
    static func leaks(_ text: String, _ value: String, window width: Int = 5) -> Bool {
        let core = Array(value.trimmingWhitespace)
        guard !core.isEmpty else { return false }
        if core.count < width { return core.count >= 3 && text.contains(String(core)) }
        return (0...(core.count - width)).contains { start in
            let window = String(core[start..<(start + width)])
            return !window.allSatisfy(\.isWhitespace) && text.contains(window)
        }
    }

    /// Expects `kind` to accept `value` and normalize it to exactly `expected` (scalar for scalar, since
    /// Swift's `==` treats canonically equivalent strings as equal).
    static func expectNormalized(
        _ kind: Kind,
        _ value: String,
        _ expected: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do throws(VaultError) {
            let normalized = try kind.normalize(value, index: 0)
            #expect(
                Array(normalized.unicodeScalars) == Array(expected.unicodeScalars),
                "got \(normalized.debugDescription)",
                sourceLocation: sourceLocation
            )
            // Normalizing is idempotent: the normalized form is accepted and left unchanged.
            let again = try kind.normalize(normalized, index: 0)
            #expect(Array(again.unicodeScalars) == Array(normalized.unicodeScalars), sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(kind) rejected a good value: \(error)", sourceLocation: sourceLocation)
        }
    }
}

extension String {
    var trimmingWhitespace: Substring {
        guard let first = firstIndex(where: { !$0.isWhitespace }),
            let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return self[first...last]
    }
}
