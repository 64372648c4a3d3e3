import Yams

/// The sections about the customer's rights: `consent_required:`, `restriction_exempt:` and `retention:`,
/// and the rules that tie them to the roles.
extension PolicyParser {
    /// A purpose with the list item that named it.
    typealias PurposeItem = (purpose: Purpose, node: Yams.Node)

    /// Each purpose that needs consent or is exempt from restriction must be one some detokenize rule
    /// reveals for: a name no rule uses is almost always a typo (`marketting`), and a typo there would
    /// silently drop the consent check on the real purpose. A purpose cannot be both (docs/POLICY.md,
    /// "Consent and restriction"). Skipped when `roles:` is broken, which is reported already.
    mutating func checkSubjectPurposes(consent: [PurposeItem], exempt: [PurposeItem], roles: [String: Policy.Role]?) {
        guard let roles else { return }
        let used = Set(roles.values.flatMap { $0.detokenize.flatMap(\.purposes) })
        for (section, items) in [("consent_required", consent), ("restriction_exempt", exempt)] {
            for item in items where !used.contains(item.purpose) {
                report(
                    item.node,
                    "\(section) names purpose \(Self.quote(item.purpose.name)), which no detokenize rule uses"
                        + (used.isEmpty ? " (no rule reveals anything)" : " (purposes: \(Self.list(used)))")
                )
            }
        }
        let consentLines = Dictionary(consent.map { ($0.purpose, Self.line(of: $0.node)) }) { first, _ in first }
        for item in exempt {
            guard let line = consentLines[item.purpose] else { continue }
            report(
                item.node,
                "purpose \(Self.quote(item.purpose.name)) is both consent_required (line \(line)) and "
                    + "restriction_exempt: a purpose that rests on consent cannot override a restriction"
            )
        }
    }

    static func list(_ purposes: Set<Purpose>) -> String {
        purposes.sorted().map(\.name).joined(separator: ", ")
    }

    // MARK: - retention

    /// `retention: {KIND: DURATION, ...}` as seconds per kind.
    mutating func retention(_ node: Yams.Node) -> [Kind: Int64] {
        guard let mapping = mapping(node, "retention") else { return [:] }
        var retention: [Kind: Int64] = [:]
        for entry in entries(of: mapping, in: "retention") {
            let kind = kind(named: entry.name, at: entry.key)
            guard let seconds = duration(entry.value, "retention.\(entry.name)"), let kind else { continue }
            retention[kind] = seconds
        }
        return retention
    }

    /// The units of a retention period, in seconds.
    static let durationUnits: [UInt8: Int64] = [
        UInt8(ascii: "d"): 86_400, UInt8(ascii: "h"): 3_600, UInt8(ascii: "m"): 60, UInt8(ascii: "s"): 1,
    ]

    /// An unquoted positive decimal integer (no leading zeros, as for every integer of the format) followed
    /// by one unit, `d`, `h`, `m` or `s`, at most `Policy.maxRetentionSeconds` in all. Every step that could
    /// overflow is checked, so no text can trap or wrap around to a short period.
    mutating func duration(_ node: Yams.Node, _ what: String) -> Int64? {
        let problem =
            "\(what) must be a positive whole number of days, hours, minutes or seconds (d, h, m or s), "
            + "such as 730d, at most \(Policy.maxRetentionDays)d"
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any,
            let unitByte = scalar.string.utf8.last, let unit = Self.durationUnits[unitByte]
        else {
            report(node, "\(problem), found \(Self.describe(node))")
            return nil
        }
        let digits = scalar.string.utf8.dropLast()
        let isDecimal =
            !digits.isEmpty && digits.count <= 19
            && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            && digits.first != UInt8(ascii: "0")
        guard isDecimal, let count = Int64(String(decoding: digits, as: UTF8.self)) else {
            report(node, "\(problem), found \(Self.describe(node))")
            return nil
        }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: unit)
        guard !overflow, seconds <= Policy.maxRetentionSeconds else {
            report(node, "\(problem), found \(Self.describe(node))")
            return nil
        }
        return seconds
    }
}
