import VaultJSON

/// The register as text for people and as JSON for tools (`cvault policy register [--json]`). Both hold
/// only names from the policy, never a value.
extension ProcessingRegister {
    /// A few lines per kind, then the permissions; docs/OPERATIONS.md shows an example.
    public var text: String {
        var lines = ["record of processing (GDPR Art. 30), generated from the policy the vault enforces"]
        lines.append("purposes that need the subject's consent: " + Self.names(consentRequired))
        lines.append("purposes exempt from restriction: " + Self.names(restrictionExempt))
        for entry in kinds {
            lines.append("")
            lines.append("\(entry.kind.rawValue)")
            lines.append("  token: \(entry.tokenMode.rawValue); holding tokens reveals \(entry.tokenDisclosure)")
            lines.append("  retention: " + (entry.retentionSeconds.map(Self.duration) ?? "kept until erased"))
            lines.append("  tokenized by: " + Self.holders(entry.tokenizedBy))
            if entry.revealedTo.isEmpty { lines.append("  revealed to: nobody") }
            for reveal in entry.revealedTo {
                let purposes = reveal.purposes.map { purpose in
                    var notes: [String] = []
                    if reveal.consentRequired.contains(purpose) { notes.append("needs consent") }
                    if reveal.restrictionExempt.contains(purpose) { notes.append("exempt from restriction") }
                    return purpose.name + (notes.isEmpty ? "" : " (\(notes.joined(separator: ", ")))")
                }
                lines.append(
                    "  revealed \(reveal.mode.rawValue) to \(Self.holder(reveal.holder)) for "
                        + purposes.joined(separator: ", ")
                )
            }
        }
        lines.append("")
        lines.append("may erase a subject: " + Self.holders(erase))
        lines.append("may record consent: " + Self.holders(consent))
        lines.append("may restrict a subject: " + Self.holders(restrict))
        lines.append("may report on a subject: " + Self.holders(report))
        return lines.joined(separator: "\n")
    }

    /// One JSON object, pretty-printed; the keys are those of docs/OPERATIONS.md.
    public var json: String {
        var json = JSONWriter(options: [.foundation, .prettyPrinted], capacity: 1024)
        json.beginObject()
        json.member("consent_required", consentRequired.map(\.name))
        json.member("restriction_exempt", restrictionExempt.map(\.name))
        json.key("kinds")
        json.beginArray()
        for entry in kinds {
            json.beginObject()
            json.member("kind", entry.kind.rawValue)
            json.member("token_mode", entry.tokenMode.rawValue)
            json.member("token_reveals", entry.tokenDisclosure)
            json.key("retention_seconds")
            if let seconds = entry.retentionSeconds { json.int(seconds) } else { json.null() }
            json.key("tokenized_by")
            Self.write(entry.tokenizedBy, to: &json)
            json.key("revealed_to")
            json.beginArray()
            for reveal in entry.revealedTo {
                json.beginObject()
                json.member("role", reveal.holder.role)
                json.member("identities", reveal.holder.identities)
                json.member("reveal", reveal.mode.rawValue)
                json.member("purposes", reveal.purposes.map(\.name))
                json.member("consent_required", reveal.consentRequired.map(\.name))
                json.member("restriction_exempt", reveal.restrictionExempt.map(\.name))
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.key("permissions")
        json.beginObject()
        for (name, holders) in [("erase", erase), ("consent", consent), ("restrict", restrict), ("report", report)] {
            json.key(name)
            Self.write(holders, to: &json)
        }
        json.endObject()
        json.endObject()
        return json.text
    }

    private static func write(_ holders: [Holder], to json: inout JSONWriter) {
        json.beginArray()
        for holder in holders {
            json.beginObject()
            json.member("role", holder.role)
            json.member("identities", holder.identities)
            json.endObject()
        }
        json.endArray()
    }

    private static func names(_ purposes: [Purpose]) -> String {
        purposes.isEmpty ? "none" : purposes.map(\.name).joined(separator: ", ")
    }

    private static func holder(_ holder: Holder) -> String {
        let identities = holder.identities.isEmpty ? "no identity" : holder.identities.joined(separator: ", ")
        return "role \(holder.role) (\(identities))"
    }

    private static func holders(_ holders: [Holder]) -> String {
        holders.isEmpty ? "nobody" : holders.map(holder).joined(separator: "; ")
    }

    /// Seconds in the largest unit that divides them: `730d`, `36h`, `90m`, `45s`.
    static func duration(_ seconds: Int64) -> String {
        for (unit, size) in [("d", Int64(86_400)), ("h", 3_600), ("m", 60)] where seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }
}
