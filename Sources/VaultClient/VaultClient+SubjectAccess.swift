import VaultJSON

extension VaultClient {
    /// The subject's access report: the signed statement's file, byte for byte (`subject.report`, docs/
    /// PROTOCOL.md §6.12). Write it out as it is; `cvault statement verify FILE` checks it.
    public func subjectReport(subject: String) async throws -> [UInt8] {
        let result = try await call(method: "subject.report", params: ["subject": .string(subject)])
        guard case .string(let file)? = result["statement"] else {
            throw VaultConnectionError(
                .malformedResponse,
                "subject.report result has no statement",
                socketPath: socketPath
            )
        }
        return Array(file.utf8)
    }

    /// Every value the subject holds, in plain, as far as this caller's role grants `purpose` (`subject.export`,
    /// §6.13): one item per token, a value or the reason it was not exported.
    public func subjectExport(subject: String, purpose: String) async throws -> SubjectExport {
        let result = try await call(
            method: "subject.export",
            params: ["subject": .string(subject), "purpose": .string(purpose)]
        )
        guard case .array(let raw)? = result["items"] else {
            throw VaultConnectionError(.malformedResponse, "subject.export result has no items", socketPath: socketPath)
        }
        var items: [SubjectExport.Item] = []
        for entry in raw {
            guard case .string(let reference)? = entry["reference"], case .string(let kind)? = entry["kind"],
                case .string(let tokenType)? = entry["token_type"], case .string(let createdAt)? = entry["created_at"]
            else {
                throw VaultConnectionError(
                    .malformedResponse,
                    "a subject.export item is incomplete",
                    socketPath: socketPath
                )
            }
            let answer: DetokenizeItem
            if case .string(let value)? = entry["value"] {
                answer = .value(value, reveal: Reveal.plain)
            } else if case .string(let error)? = entry["error"] {
                answer = .error(error)
            } else {
                throw VaultConnectionError(
                    .malformedResponse,
                    "a subject.export item has neither a value nor an error",
                    socketPath: socketPath
                )
            }
            items.append(
                SubjectExport.Item(
                    reference: reference,
                    kind: Kind(rawValue: kind),
                    tokenType: tokenType,
                    createdAt: createdAt,
                    answer: answer
                )
            )
        }
        return SubjectExport(subject: subject, purpose: purpose, items: items)
    }

    /// The answer of `subjectExport`.
    public struct SubjectExport: Sendable, Equatable {
        public let subject: String
        public let purpose: String
        public let items: [Item]

        /// One token the subject holds.
        public struct Item: Sendable, Equatable {
            /// The token's name in the access report (`row:` + hex); never the token.
            public let reference: String
            public let kind: Kind
            /// `opaque`, `deterministic` or `format-preserving`.
            public let tokenType: String
            /// RFC 3339, UTC.
            public let createdAt: String
            /// The value (`reveal` always `plain`), or why it was not exported (`denied`, `not_found`,
            /// `restricted`, `no_consent`, `integrity`).
            public let answer: DetokenizeItem
        }
    }
}
