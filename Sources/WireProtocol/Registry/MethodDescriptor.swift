public import SwiftProtobuf

/// How a method answers: one response, or a server stream of items.
public enum MethodKind: String, Sendable, Hashable {
    case unary
    case serverStream = "server-stream"
}

/// One method of the protocol: its wire id, its name, its message types and its retry semantics.
///
/// `Request` and `Response` are generated protobuf messages; for a server stream `Response` is the
/// type of each STREAM_ITEM.
public struct MethodDescriptor<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>: Sendable {
    public let id: MethodID
    /// `Service.Method`, e.g. `System.Echo`.
    public let name: String
    public let kind: MethodKind
    /// Whether calling twice has the same effect as calling once, so that a caller (or the gateway)
    /// may retry it after a failure that may have been processed.
    public let isIdempotent: Bool

    public init(service: UInt16, method: UInt16, name: String, kind: MethodKind = .unary, isIdempotent: Bool) {
        self.id = MethodID(service: service, method: method)
        self.name = name
        self.kind = kind
        self.isIdempotent = isIdempotent
    }

    /// The type-erased form the registry keeps.
    public var info: MethodInfo {
        MethodInfo(id: id, name: name, kind: kind, isIdempotent: isIdempotent, requestType: Request.self, responseType: Response.self)
    }
}

/// A method as the registry lists it, for routing, `crmctl list` and `crmctl describe`.
public struct MethodInfo: Sendable {
    public let id: MethodID
    public let name: String
    public let kind: MethodKind
    public let isIdempotent: Bool
    public let requestType: any SwiftProtobuf.Message.Type
    public let responseType: any SwiftProtobuf.Message.Type

    public var serviceName: String { String(name.prefix { $0 != "." }) }
}
