extension Kind {
    /// Checks `value` against this kind's rules and returns its normalized form: the form that is
    /// encrypted, masked and (for deterministic tokens) hashed, so equal values give equal tokens.
    ///
    /// Every kind rejects an empty value and one over `Kind.maxValueBytes` UTF-8 bytes. The error is
    /// `VaultError.invalidValue` naming the kind, `index` (the value's position in its batch) and the rule
    /// broken; it never contains the value or any part of it.
    public func normalize(_ value: String, index: Int) throws(VaultError) -> String {
        do throws(InvalidReason) {
            return try normalized(value)
        } catch {
            throw .invalidValue(self, index: index, error.text)
        }
    }

    /// The rules without the batch context; see `normalize(_:index:)`.
    func normalized(_ value: String) throws(InvalidReason) -> String {
        // Size first, before any rule walks the value, so an oversized value costs nothing more.
        let bytes = value.utf8.count
        guard bytes <= Kind.maxValueBytes else {
            throw InvalidReason("is \(bytes) bytes; values are limited to \(Kind.maxValueBytes) bytes")
        }
        guard bytes > 0 else { throw InvalidReason("is empty") }
        switch self {
        case .email: return try EmailRules.normalize(value)
        case .phone: return try PhoneRules.normalize(value)
        case .card: return try CardRules.normalize(value)
        case .ssn: return try SSNRules.normalize(value)
        case .name: return try NameRules.normalize(value)
        case .address: return try AddressRules.normalize(value)
        case .date: return try DateRules.normalize(value)
        // Free text is stored exactly as given: a Swift String is always valid Unicode, and any change
        // (trimming, NFC) could alter what the caller meant.
        case .text: return value
        }
    }
}
