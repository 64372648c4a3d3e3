/// The server answered a call with a JSON-RPC error (docs/PROTOCOL.md §8).
///
/// Act on `code` and `data`, never on `message` (a fixed English text). Nothing in it is a customer value:
/// the server never echoes one, and this type adds none.
public struct VaultClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The protocol's error code, such as `VaultClientError.invalidParams`.
    public let code: Int
    /// The server's fixed message for the code ("Invalid params", "forbidden", …).
    public let message: String
    /// The error's `data` members (empty when the server sent none): `field`, `index`, `reason`, `limit`,
    /// `retry_after_ms`, `request_id`, …
    public let data: [String: JSONValue]

    public init(code: Int, message: String, data: [String: JSONValue] = [:]) {
        self.code = code
        self.message = message
        self.data = data
    }

    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let unknownIdentity = -32001
    public static let forbidden = -32002
    public static let rateLimited = -32003
    public static let tooLarge = -32004
    public static let sealed = -32005
    public static let internalError = -32006

    /// What the operator searches the server log for.
    public var requestID: String? { data["request_id"]?.stringValue }
    /// For `rateLimited`: how long until the call can succeed.
    public var retryAfterMilliseconds: Int? { data["retry_after_ms"]?.intValue.map(Int.init) }
    /// The param at fault (`subject`, `values`, `limits.max_reveals`, …), when the server names one.
    public var field: String? { data["field"]?.stringValue }
    /// The position of the element at fault, for errors about one element of an array.
    public var index: Int? { data["index"]?.intValue.map(Int.init) }
    /// A short English phrase for people, when the server gives one.
    public var reason: String? { data["reason"]?.stringValue }

    /// One line for people: the message, then what `data` says about where and why (all public facts),
    /// e.g. `Invalid params (-32602): card value at index 1: fails the Luhn check (request r4)`.
    public var description: String {
        var text = "\(message) (\(code))"
        var place: String?
        if let field {
            place = index.map { "\(field)[\($0)]" } ?? field
        } else if let index {
            place = (data["kind"]?.stringValue.map { "\($0) value" } ?? "value") + " at index \(index)"
        }
        if let place { text += ": " + place }
        if let reason { text += ": " + reason }
        var extras: [String] = []
        if let limit = data["limit"]?.intValue { extras.append("limit \(limit)") }
        if let retry = retryAfterMilliseconds { extras.append("retry after \(retry) ms") }
        if let uid = data["uid"]?.intValue { extras.append("uid \(uid)") }
        if let requestID { extras.append("request \(requestID)") }
        if !extras.isEmpty { text += " (" + extras.joined(separator: ", ") + ")" }
        return text
    }
}

/// The call did not get an answer from the server: no connection could be made, the connection went away
/// before the answer came, no answer came in time, or the answer was not a valid response.
///
/// A call that failed this way may or may not have taken effect (docs/PROTOCOL.md §10): retry `tokenize`
/// only with an idempotency key; `erase`, `whoami` and `health` are safe to repeat.
public struct VaultConnectionError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The socket could not be reached (no server, wrong path, permission denied).
        case cannotConnect
        /// The server closed the connection, or it broke, before answering.
        case closed
        /// No answer within the client's timeout; the connection was dropped.
        case timedOut
        /// The server sent something that is not a valid response to this request.
        case malformedResponse
        /// `close()` was called on the client.
        case clientClosed
    }

    public let kind: Kind
    public let message: String
    /// The socket path the client uses.
    public let socketPath: String

    public init(_ kind: Kind, _ message: String, socketPath: String) {
        self.kind = kind
        self.message = message
        self.socketPath = socketPath
    }

    public var description: String { "\(message) (\(socketPath))" }
}
