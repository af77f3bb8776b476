public import Logging
public import NIOCore
public import WireProtocol

/// What a handler knows about the call it serves.
public struct ServerCallContext: Sendable {
    public let method: MethodInfo
    public let streamID: UInt32
    /// The request's metadata. Caller identity fields are present only if the connection is
    /// trusted to set them (see ``RPCServer/Configuration/trustsCallerIdentity``).
    public let metadata: Metadata
    /// When the caller stops waiting; the runtime cancels the handler at this moment.
    public let deadline: NIODeadline?
    /// The peer's TLS certificate identity (subject common name), if the connection uses mutual TLS.
    public let peerIdentity: String?
    /// A logger with the request's trace id, method and caller attached.
    public var logger: Logger
}
