extension Kind {
    /// Whether this kind can be tokenized in `mode`. Opaque and deterministic tokens work for every kind;
    /// format-preserving tokens exist only for kinds with a structure that a token can mimic while never
    /// being a real value (card, ssn, phone, email). A policy that asks for an unsupported pair should be
    /// refused when it is loaded.
    public func supports(_ mode: TokenMode) -> Bool {
        switch (mode, self) {
        case (.opaque, _), (.deterministic, _): true
        case (.formatPreserving, .card), (.formatPreserving, .ssn), (.formatPreserving, .phone),
            (.formatPreserving, .email):
            true
        case (.formatPreserving, .name), (.formatPreserving, .address), (.formatPreserving, .date),
            (.formatPreserving, .text):
            false
        }
    }
}
