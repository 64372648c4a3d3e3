/// One thing wrong with a policy file, at a place in it. `description` reads like a compiler's
/// diagnostic, `policy.yaml:14:9: unknown kind "cardd" (kinds: email, phone, …)`, so editors and people
/// can jump to it.
///
/// Messages quote only text from the policy file (names, keys, kinds), never a customer value; quoted text
/// is shortened and its control characters escaped, so a hostile file cannot forge log lines.
public struct PolicyProblem: Sendable, Equatable, CustomStringConvertible {
    /// The file as the caller named it (`policy.yaml` when checking a string).
    public let file: String
    /// 1-based line and column (libyaml counts columns in Unicode scalars).
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String = "policy.yaml", line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        "\(file):\(line):\(column): \(message)"
    }
}

extension VaultError {
    /// The error for a policy that failed its check: every problem, one per line, in file order.
    static func policyProblems(_ problems: [PolicyProblem], file: String) -> VaultError {
        let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
        let list = problems.map { "  \($0)" }.joined(separator: "\n")
        return VaultError(
            .policy,
            "policy \(file) has \(count):\n\(list)",
            hint: "fix each problem at its line and column, then run `cvault policy check \(file)`"
        )
    }
}
