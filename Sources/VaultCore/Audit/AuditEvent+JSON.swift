import VaultJSON

extension AuditEvent {
    /// The record's canonical JSON: members sorted by name, no whitespace, slashes unescaped, optional members
    /// left out when nil, strings escaped as Foundation escapes them (`JSONWriter.Options.foundation`). Byte
    /// for byte what `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` writes, which the first
    /// records were written with (AuditEventJSONTests pins the bytes and holds the two side by side): the
    /// chain hashes these bytes, so they can never change. Written directly rather than through `Encodable`:
    /// every request appends an audit record, and `JSONEncoder` cost more than a tenth of the server's CPU time.
    func canonicalJSON() -> String {
        var json = JSONWriter(options: .foundation, capacity: 256 + (items?.count ?? 0) * 64)
        // Alphabetical order of the member names.
        json.beginObject()
        json.member("at", at)
        json.memberIfPresent("count", count)
        json.memberIfPresent("dek_version", dekVersion)
        json.memberIfPresent("detail", detail)
        json.member("event", event.rawValue)
        json.memberIfPresent("identity", identity)
        if let items {
            json.key("items")
            json.beginArray()
            for item in items { item.write(into: &json) }
            json.endArray()
        }
        json.memberIfPresent("kind", kind)
        json.memberIfPresent("mode", mode)
        json.member("outcome", outcome.rawValue)
        if let perKind {
            json.key("per_kind")
            json.beginObject()
            for (kind, tally) in perKind.sorted(by: { $0.key < $1.key }) {
                json.key(kind)
                tally.write(into: &json)
            }
            json.endObject()
        }
        json.memberIfPresent("purpose", purpose)
        json.memberIfPresent("purposes", purposes)
        json.memberIfPresent("reason", reason)
        json.memberIfPresent("roles", roles)
        json.member("seq", seq)
        json.memberIfPresent("subject_refs", subjectRefs)
        json.memberIfPresent("subjects", subjects)
        json.memberIfPresent("uid", uid.map(Int64.init))
        json.endObject()
        return json.text
    }
}

extension AuditKindTally {
    fileprivate func write(into json: inout JSONWriter) {
        json.beginObject()
        json.memberIfPresent("cutoff", cutoff)
        json.memberIfPresent("data_keys", dataKeys)
        json.member("tokens", tokens)
        json.endObject()
    }
}

extension AuditItem {
    fileprivate func write(into json: inout JSONWriter) {
        json.beginObject()
        json.member("decision", decision.rawValue)
        json.memberIfPresent("kind", kind)
        json.memberIfPresent("subject", subject.map(Int64.init))
        json.member("token", token)
        json.endObject()
    }
}
