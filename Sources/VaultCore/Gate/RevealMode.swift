/// How a detokenize grant shows a value: the value itself, or its mask (e.g. `j***@example.com`).
///
/// Ordered by how much is revealed, so combining grants is `max`: when several roles grant, the most
/// revealing wins.
public enum RevealMode: String, Sendable, CaseIterable, Codable, Hashable, Comparable {
    case masked
    case plain

    public static func < (lhs: RevealMode, rhs: RevealMode) -> Bool {
        lhs.rank < rhs.rank
    }

    private var rank: Int {
        switch self {
        case .masked: 0
        case .plain: 1
        }
    }
}
